#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The agentns Python bindings against a real linux-wintermute kernel.

Run as root in the guest (tests/guest_test.sh does, through chroot /host).
Every test runs in a forked child of its own, so a session it creates or
enters, a thread it starts or a uid it drops stays there.  Prints
kselftest TAP; exits 0 when every test passed, 1 when one failed and 4
(skip) on a kernel without agent namespaces.
"""

import errno
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import agentns  # noqa: E402
from agentns import Action, Budget  # noqa: E402
from agentns._core import _prctl  # noqa: E402

PR_SET_NO_NEW_PRIVS = 38
NOBODY = 65534
TEST_TIMEOUT_S = 120
SYSCTL_ENABLED = "/proc/sys/kernel/agent_ns/enabled"

TESTS = []


class Skip(Exception):
    pass


def test(fn):
    TESTS.append(fn)
    return fn


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def check_eq(want, got, what):
    if want != got:
        raise AssertionError("%s: expected %r, got %r" % (what, want, got))


def raises(cls, fn, *args):
    try:
        fn(*args)
    except cls as e:
        return e
    except Exception as e:  # noqa: BLE001
        raise AssertionError("%s raised %s (%s), not %s"
                             % (getattr(fn, "__name__", fn), type(e).__name__, e, cls.__name__))
    raise AssertionError("%s did not raise %s" % (getattr(fn, "__name__", fn), cls.__name__))


def wait_status(pid):
    """Exit status, or 128 + the signal that killed it."""
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def fork_call(fn):
    """Runs fn() in a child; its exit status is fn's return value (0 on
    None), 99 on an exception, or 128 + a signal."""
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            code = fn() or 0
        except BaseException:  # noqa: BLE001
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
        os._exit(code)
    return wait_status(pid)


def open_n(n, path="/dev/null"):
    for _ in range(n):
        os.close(os.open(path, os.O_RDONLY))


# --- sessions -------------------------------------------------------------

@test
def create_session_gives_a_new_nonzero_id():
    old = agentns.session_id()
    check_eq(old, agentns.read_session("self"), "prctl and /proc agree before")
    new = agentns.create_session()
    check(not new.is_initial, "the new id is not all zeros")
    check(new != old, "the new id %s differs from the old %s" % (new, old))
    check_eq(new, agentns.session_id(), "PR_GET_AGENT_SESSION_ID")
    check_eq(new, agentns.read_session("self"), "/proc/self/agent_session")
    check_eq(new, agentns.read_session(os.getpid()), "/proc/PID/agent_session")
    check_eq(old, agentns.parent_id(), "the parent id is the old id")


@test
def sessions_nest_and_parent_ids_chain():
    ids = [agentns.session_id()]
    for _ in range(3):
        ids.append(agentns.create_session())
        check_eq(ids[-2], agentns.parent_id(), "parent of depth %d" % (len(ids) - 1))
    check_eq(4, len(set(ids)), "four distinct ids")


@test
def ns_link_changes_and_children_share_it():
    before = agentns.read_ns_link()
    agentns.create_session()
    after = agentns.read_ns_link()
    check(before != after, "the link changed: %s -> %s" % (before, after))
    check_eq(os.stat("/proc/self/ns/agent").st_ino, agentns.read_ns_inode(), "inode")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.read(r, 1)
        os._exit(0)
    try:
        check_eq(after, agentns.read_ns_link(pid), "the child's link")
        check_eq(agentns.session_id(), agentns.read_session(pid), "the child's id")
    finally:
        os.write(w, b"x")
        wait_status(pid)


# --- intent ----------------------------------------------------------------

@test
def intent_round_trip():
    agentns.create_session()
    check_eq("", agentns.get_intent(), "a new session has no intent")
    check_eq("", agentns.read_intent(), "/proc/self/agent_intent of a new session")
    for tag in ("python guest test", "~" * 63, " !#$%&()*+,-./09:;<=>?@AZ[\\]^_`az{|}"):
        agentns.set_intent(tag)
        check_eq(tag, agentns.get_intent(), "PR_GET_AGENT_INTENT_TAG")
        check_eq(tag, agentns.read_intent("self"), "/proc/self/agent_intent")
        check_eq(tag, agentns.read_intent(os.getpid()), "/proc/PID/agent_intent")
    agentns.set_intent(b"bytes-tag")
    check_eq("bytes-tag", agentns.get_intent(), "a bytes tag")
    agentns.set_intent("")
    check_eq("", agentns.get_intent(), "the empty tag clears")
    agentns.set_intent("parent-intent")
    agentns.create_session()
    check_eq("", agentns.get_intent(), "a child session starts without the parent's tag")
    st = os.stat("/proc/self/agent_intent")
    check_eq(0o400, st.st_mode & 0o7777, "mode of agent_intent")


@test
def bad_intent_is_einval_and_changes_nothing():
    agentns.create_session()
    agentns.set_intent("keep")
    for bad in ("x" * 64, "tab\there", "\x01", "caf\u00e9", "\x7f"):
        e = raises(agentns.InvalidArgumentError, agentns.set_intent, bad)
        check(isinstance(e, ValueError) and isinstance(e, OSError), "ValueError and OSError")
        check_eq(errno.EINVAL, e.errno, "errno for %r" % bad)
        check("63 printable ASCII" in str(e), "the message explains: %s" % e)
    e = raises(ValueError, agentns.set_intent, "nul\0inside")
    check_eq(errno.EINVAL, e.errno, "errno for a NUL")
    check_eq("keep", agentns.get_intent(), "the tag after the refusals")


@test
def initial_session_refuses_intent_and_budget_with_einval():
    if not agentns.session_id().is_initial:
        raise Skip("the runner is not in the initial session")
    e = raises(agentns.InvalidArgumentError, agentns.set_intent, "init")
    check(not isinstance(e, agentns.NotSupportedError), "EINVAL of the argument, not the kernel")
    raises(agentns.InvalidArgumentError, agentns.set_budget, Budget(fork=1))
    check_eq(Budget(), agentns.get_budget(), "the initial session's budget reads as zeros")
    check_eq(agentns.session_id(), agentns.parent_id(), "the initial session's parent is zeros")


# --- counters --------------------------------------------------------------

@test
def counters_count_exact_deltas():
    agentns.create_session()
    wfd = os.open("/dev/null", os.O_WRONLY)
    zfd = os.open("/dev/zero", os.O_RDONLY)
    data = b"w" * 4096
    c0 = agentns.counters()
    for _ in range(10):
        fd = os.open("/dev/null", os.O_RDONLY)
        os.close(fd)
    c1 = agentns.counters()
    check_eq(10, (c1 - c0).openat, "10 os.open -> openat")
    check_eq(21, (c1 - c0).syscalls, "10 openat + 10 close + the prctl")
    for _ in range(3):
        os.write(wfd, data)
    os.write(wfd, data[:100])
    c2 = agentns.counters()
    check_eq(3 * 4096 + 100, (c2 - c1).write_bytes, "write_bytes")
    os.read(zfd, 100)
    os.read(zfd, 24)
    c3 = agentns.counters()
    check_eq(124, (c3 - c2).read_bytes, "read_bytes")
    for _ in range(1000):
        os.getppid()
    c4 = agentns.counters()
    check_eq(1001, (c4 - c3).syscalls, "1000 getppid + the prctl")
    check_eq(0, (c4 - c3).openat, "no opens")
    check(c4.elapsed_ns >= c0.elapsed_ns, "elapsed_ns does not go back")
    os.close(wfd)
    os.close(zfd)


@test
def failed_opens_and_unlinks_do_not_count():
    agentns.create_session()
    d = tempfile.mkdtemp(prefix="agentns-py-")
    paths = [os.path.join(d, "f%d" % i) for i in range(5)]
    for p in paths:
        os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o600))
    os.mkdir(os.path.join(d, "sub"))
    c0 = agentns.counters()
    for p in paths:
        os.unlink(p)
    os.rmdir(os.path.join(d, "sub"))
    for p in paths[:2]:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    for _ in range(3):
        try:
            os.open("/nonexistent/agentns", os.O_RDONLY)
        except FileNotFoundError:
            pass
    c1 = agentns.counters()
    check_eq(6, (c1 - c0).unlink, "5 unlink + 1 rmdir, failures not counted")
    check_eq(0, (c1 - c0).openat, "failed opens not counted")
    os.rmdir(d)


@test
def fork_exec_and_connect_count():
    agentns.create_session()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c0 = agentns.counters()
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    pid = os.fork()
    if pid == 0:
        try:
            os.execv("/nonexistent/agentns", ["x"])
        except OSError:
            pass
        try:
            os.execv("/bin/true", ["true"])
        finally:
            os._exit(127)
    check_eq(0, wait_status(pid), "/bin/true")
    for _ in range(4):
        try:
            s.connect("/nonexistent/agentns.sock")
        except OSError:
            pass
    c1 = agentns.counters()
    check_eq(4, (c1 - c0).fork, "4 forks")
    check_eq(1, (c1 - c0).exec, "1 successful exec")
    check_eq(4, (c1 - c0).connect, "4 connect attempts")
    s.close()


@test
def child_sessions_roll_up_into_the_parent():
    agentns.create_session()
    c0 = agentns.counters()

    def child():
        agentns.create_session()
        check_eq(0, agentns.counters().openat, "a new session starts from zero")
        open_n(20)
        return 0

    check_eq(0, fork_call(child), "child")
    c1 = agentns.counters()
    check_eq(20, (c1 - c0).openat, "the exited child session's opens")
    check_eq(1, (c1 - c0).fork, "the fork")


@test
def proc_counters_agree_with_prctl():
    agentns.create_session()
    open_n(5)
    c = agentns.counters()
    p = agentns.read_counters("self")
    check_eq(c.openat + 1, p.openat, "reading the file opens it")
    check_eq(c.exec, p.exec, "exec")
    check_eq(c.fork, p.fork, "fork")
    check(p.syscalls > c.syscalls, "syscalls went on")
    check_eq(c.openat + 2, agentns.read_counters(os.getpid()).openat,
             "/proc/PID/agent_counters, the second read")
    st = os.stat("/proc/self/agent_counters")
    check_eq(0o400, st.st_mode & 0o7777, "mode of agent_counters")


# --- budgets ---------------------------------------------------------------

@test
def budget_round_trip():
    agentns.create_session()
    check_eq(Budget(), agentns.get_budget(), "a new session has no budget")
    b = Budget(syscalls=10**9, write_bytes=1 << 40, elapsed_ns=3600 * 10**9,
               action=Action.term, openat=500000, read_bytes=1 << 41,
               connect=1000, unlink=2000, fork=3000, exec=400)
    agentns.set_budget(b)
    got = agentns.get_budget()
    check_eq(b, got, "get_budget")
    check(got.action is Action.term, "the action is an Action")
    tighter = Budget(syscalls=10**8, openat=1000, action=Action.kill)
    agentns.set_budget(tighter)
    check_eq(tighter, agentns.get_budget(), "a tighter budget")
    agentns.set_budget(Budget())
    check_eq(Budget(), agentns.get_budget(), "root may remove every limit")


@test
def bad_budget_is_einval():
    agentns.create_session()
    agentns.set_budget(Budget(fork=100))
    e = raises(agentns.InvalidArgumentError, agentns.set_budget, Budget(action=4))
    check_eq(errno.EINVAL, e.errno, "errno")
    check("unknown action" in str(e), "message: %s" % e)
    check_eq(Budget(fork=100), agentns.get_budget(), "the budget after the refusal")


@test
def sigkill_budget_kills_a_forked_child():
    def child():
        agentns.create_session()
        agentns.set_budget(Budget(openat=50, action=Action.kill))
        open_n(1000)
        return 3

    check_eq(128 + signal.SIGKILL, fork_call(child), "the child's fate (openat budget)")

    def spinner():
        agentns.create_session()
        agentns.set_budget(Budget(syscalls=5000, action=Action.kill))
        for _ in range(100000):
            os.getppid()
        return 3

    check_eq(128 + signal.SIGKILL, fork_call(spinner), "the child's fate (syscall budget)")


@test
def deny_budget_refuses_the_open_past_the_limit():
    d = tempfile.mkdtemp(prefix="agentns-py-")
    first = os.path.join(d, "first")
    second = os.path.join(d, "second")

    def child():
        agentns.create_session()
        limit = agentns.counters().openat + 1
        agentns.set_budget(Budget(openat=limit, action=Action.deny))
        check_eq(Action.deny, agentns.get_budget().action, "the action reads back")
        os.close(os.open(first, os.O_CREAT | os.O_WRONLY, 0o600))
        e = raises(OSError, os.open, second, os.O_CREAT | os.O_WRONLY, 0o600)
        check_eq(errno.EDQUOT, e.errno, "errno of the open past the limit")
        check(os.path.exists(first), "the allowed open created its file")
        check(not os.path.exists(second), "the refused open created no file")
        check_eq(limit, agentns.counters().openat, "the counter stays at the limit")
        return 7

    try:
        check_eq(7, fork_call(child), "the child ran to its end, no signal")
        check(not os.path.exists(second), "no file after the child")
    finally:
        for p in (first, second):
            if os.path.exists(p):
                os.unlink(p)
        os.rmdir(d)


@test
def log_budget_kills_nothing():
    def child():
        agentns.create_session()
        agentns.set_budget(Budget(openat=5, action=Action.log))
        open_n(50)
        return 7

    check_eq(7, fork_call(child), "the child ran to its end")


@test
def spawn_sets_intent_and_budget():
    import subprocess

    p = agentns.spawn(["sh", "-c", "cat /proc/$$/agent_intent /proc/$$/agent_session"],
                      intent="spawned-by-python", stdout=subprocess.PIPE)
    out = p.communicate(timeout=60)[0].decode()
    check_eq(0, p.returncode, "exit status")
    intent, sid = out.splitlines()
    check_eq("spawned-by-python", intent, "the spawned command's intent")
    check(sid != str(agentns.session_id()) and sid != "0" * 32, "a new session: %s" % sid)
    check_eq(sid, str(p.session_id), "Popen.session_id")
    p = agentns.spawn(["cat", "/proc/self/agent_intent"], intent="caller's children",
                      budget=Budget(openat=50, exec=2, action=Action.deny),
                      stdout=subprocess.PIPE)
    out = p.communicate(timeout=60)[0].decode()
    check_eq(0, p.returncode, "exit status under a deny budget")
    check_eq("caller's children\n", out, "the intent under a deny budget")


# Apart from spawn_sets_intent_and_budget, with a harness timeout of its
# own: together they took 88 s, then over 120 s, in the debug guest (see
# the stress test's slow-dying processes in the dev-tools guide).
@test
def spawn_with_a_kill_budget_is_killed():
    p = agentns.spawn(["sh", "-c", "while :; do cat /dev/null; done"],
                      budget=Budget(syscalls=3000, action=Action.kill))
    check_eq(-signal.SIGKILL, p.wait(timeout=110), "killed by its budget")


@test
def provenance_names_the_creating_session():
    import subprocess

    # The guest's /tmp is a tmpfs with security xattrs; the agentns LSM labels the file.
    d = tempfile.mkdtemp(dir="/tmp")
    path = os.path.join(d, "made-by-a-session")
    p = agentns.spawn(["touch", path], intent="py-provenance")
    check_eq(0, p.wait(timeout=60), "touch in a session")
    lab = agentns.provenance.label(path)
    check(lab is not None, "the file has a label")
    check_eq(str(p.session_id), str(lab.session), "the label's session")
    check_eq("py-provenance", lab.intent, "the label's intent")
    mine = os.path.join(d, "made-outside")
    open(mine, "w").close()
    check_eq(None, agentns.provenance.label(mine), "a file made outside any session")
    subprocess.run(["rm", "-rf", d], check=True)


@test
def spawn_from_a_threaded_program():
    import subprocess

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        # In-process the kernel refuses a multi-threaded caller; spawn's
        # session is made by a new single-threaded process.
        raises(agentns.InvalidArgumentError, agentns.create_session)
        p = agentns.spawn(["cat", "/proc/self/agent_session"], intent="from-threads",
                          stdout=subprocess.PIPE)
        out = p.communicate(timeout=60)[0].decode().strip()
        check_eq(0, p.returncode, "exit status")
        check_eq(str(p.session_id), out, "the command's session")
        check(out != str(agentns.session_id()), "a new session: %s" % out)
    finally:
        stop.set()
        t.join()


@test
def spawn_no_new_privs_lets_nobody_create_a_session():
    import subprocess

    def child():
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
        e = raises(agentns.AgentNSPermissionError, agentns.spawn, ["true"])
        check("no_new_privs" in str(e), "message: %s" % e)
        p = agentns.spawn(["sh", "-c", "grep NoNewPrivs /proc/$$/status; "
                           "cat /proc/$$/agent_session"],
                          no_new_privs=True, stdout=subprocess.PIPE)
        out = p.communicate(timeout=60)[0].decode().splitlines()
        check_eq(0, p.returncode, "exit status")
        check_eq("NoNewPrivs:\t1", out[0], "no_new_privs in the command")
        check_eq(str(p.session_id), out[1], "the command's session")
        with open("/proc/self/status") as f:
            mine = [line.strip() for line in f if line.startswith("NoNewPrivs:")]
        check_eq(["NoNewPrivs:\t0"], mine, "the caller keeps no_new_privs unset")

    check_eq(0, fork_call(child), "as nobody")


@test
def spawn_errors_are_raised_in_the_caller():
    before = agentns.session_id()
    e = raises(agentns.InvalidArgumentError,
               lambda: agentns.spawn(["true"], budget=Budget(action=9)))
    check("unknown action" in str(e), "message: %s" % e)
    check_eq("prctl(PR_SET_AGENT_BUDGET_LIMITS)", e.operation, "the operation")
    e = raises(FileNotFoundError, agentns.spawn, ["/nonexistent/agentns-cmd"])
    check_eq("/nonexistent/agentns-cmd", e.filename, "the file name")
    raises(agentns.InvalidArgumentError, lambda: agentns.spawn(["true"], intent="x" * 64))
    check_eq(before, agentns.session_id(), "the caller's session")


@test
def structures_are_version_1():
    agentns.create_session()
    check_eq(1, agentns.structure_version(), "structure_version()")
    check_eq(1, agentns.counters().version, "the counters' version")
    check_eq(1, agentns.get_budget().version, "the budget's version")
    # A version-0 budget leaves the version-1 limits as they are.
    agentns.set_budget(Budget(syscalls=10**6, openat=500))
    v0 = {n: None for n in ("openat", "read_bytes", "connect", "unlink", "fork", "exec")}
    agentns.set_budget(Budget(syscalls=10**5, **v0))
    got = agentns.get_budget()
    check_eq((10**5, 500), (got.syscalls, got.openat), "limits after a version-0 budget")


# --- entering --------------------------------------------------------------

def start_holder():
    """A child in a new session of its own, until told to exit."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            sid = agentns.create_session()
            os.write(ready_w, sid.raw)
            os.read(go_r, 1)
        finally:
            os._exit(0)
    raw = os.read(ready_r, 16)
    check_eq(16, len(raw), "the holder's id")
    return pid, agentns.SessionId(raw), go_w


def stop_holder(pid, go_w):
    os.write(go_w, b"x")
    return wait_status(pid)


@test
def enter_by_pid_and_fd():
    origin = agentns.create_session()
    origin_fd = agentns.open_ns("self")
    pid, sid, go = start_holder()
    try:
        agentns.enter_pid(pid)
        check_eq(sid, agentns.session_id(), "the id after enter_pid")
        check_eq(sid, agentns.read_session("self"), "/proc/self/agent_session after enter_pid")
        check_eq(agentns.read_ns_link(pid), agentns.read_ns_link("self"), "the ns links")
        check_eq(origin, agentns.parent_id(), "the holder's session's parent")
        agentns.enter_fd(origin_fd)
        check_eq(origin, agentns.session_id(), "back by fd")
    finally:
        os.close(origin_fd)
        check_eq(0, stop_holder(pid, go), "holder")


@test
def enter_errors():
    fd = os.open("/proc/self/ns/uts", os.O_RDONLY)
    before = agentns.session_id()
    e = raises(agentns.InvalidArgumentError, agentns.enter_fd, fd)
    check(not isinstance(e, agentns.NotSupportedError), "EINVAL of the argument")
    check("not an agent namespace" in str(e), "message: %s" % e)
    os.close(fd)
    raises(agentns.NoSuchTaskError, agentns.enter_pid, 0x3FFFFFFF)
    check_eq(before, agentns.session_id(), "still in the same session")


@test
def unprivileged_create_needs_no_new_privs():
    def drop():
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)

    def without():
        drop()
        e = raises(agentns.AgentNSPermissionError, agentns.create_session)
        check(isinstance(e, PermissionError), "a PermissionError")
        check_eq(errno.EPERM, e.errno, "errno")
        check("no_new_privs" in str(e), "message: %s" % e)
        # Root's intent, like its counters, needs ptrace read access; its id does not.
        e = raises(agentns.AgentNSPermissionError, agentns.read_intent, 1)
        check_eq(errno.EACCES, e.errno, "reading /proc/1/agent_intent as nobody")
        agentns.read_session(1)

    def with_nnp():
        check_eq(0, _prctl(PR_SET_NO_NEW_PRIVS, 1), "PR_SET_NO_NEW_PRIVS")
        drop()
        before = agentns.session_id()
        check(agentns.create_session() != before, "a new session")
        agentns.set_budget(Budget(fork=10))
        e = raises(agentns.AgentNSPermissionError, agentns.set_budget, Budget(fork=20))
        check("loosening" in str(e), "message: %s" % e)

    check_eq(0, fork_call(without), "without no_new_privs")
    check_eq(0, fork_call(with_nnp), "with no_new_privs")


@test
def depth_past_32_is_limit_error():
    start_initial = agentns.session_id().is_initial
    n = 0
    for _ in range(40):
        try:
            agentns.create_session()
        except agentns.LimitError as e:
            check_eq(errno.ENOSPC, e.errno, "errno")
            check("depth 32" in str(e), "message: %s" % e)
            break
        n += 1
    else:
        raise AssertionError("40 nested sessions were created")
    if start_initial:
        check_eq(32, n, "sessions created below the initial one")


@test
def multithreaded_create_is_einval():
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        e = raises(agentns.InvalidArgumentError, agentns.create_session)
        check("multi-threaded" in str(e), "message: %s" % e)
    finally:
        stop.set()
        t.join()


@test
def disabled_sysctl_is_disabled_error():
    try:
        with open(SYSCTL_ENABLED) as f:
            if f.read().strip() != "1":
                raise Skip("agent namespaces are already disabled")
        with open(SYSCTL_ENABLED, "w") as f:
            f.write("0")
    except OSError as e:
        raise Skip("cannot write %s: %s" % (SYSCTL_ENABLED, e)) from None
    try:
        e = raises(agentns.DisabledError, agentns.create_session)
        check_eq(errno.EOPNOTSUPP, e.errno, "errno")
        check("disabled" in str(e), "message: %s" % e)
        check(agentns.is_supported(), "still supported, only disabled")
    finally:
        with open(SYSCTL_ENABLED, "w") as f:
            f.write("1")
    check(not agentns.create_session().is_initial, "enabled again")


# --- namespace files and listing ------------------------------------------

def start_nested(depth):
    """A child that creates ``depth`` nested sessions (only the deepest has
    a process) and waits until told to exit."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            sid = None
            for _ in range(depth):
                sid = agentns.create_session()
            os.write(ready_w, sid.raw)
            os.read(go_r, 1)
        finally:
            os._exit(0)
    raw = os.read(ready_r, 16)
    check_eq(16, len(raw), "the nested child's id")
    return pid, agentns.SessionId(raw), go_w


def need_initial_session():
    if not agentns.session_id().is_initial:
        raise Skip("the runner is not in the initial session")


@test
def parent_walk_from_the_initial_session():
    need_initial_session()
    pid, sid, go = start_nested(2)
    try:
        with agentns.NsFile.of_pid(pid) as f:
            anc = f.ancestors()
            with anc:
                check(anc.complete, "the chain reaches the initial session")
                check_eq(2, anc.depth, "depth")
                check_eq(2, len(anc.chain), "ancestors")
                check(anc.chain[-1].is_initial(), "the last is the initial session")
                check(not anc.chain[0].is_initial(), "the first is not")
                check_eq(os.stat("/proc/self/ns/agent").st_ino, anc.chain[-1].inode(),
                         "the initial session's inode")
    finally:
        check_eq(0, stop_holder(pid, go), "nested child")


@test
def parent_walk_stops_at_the_callers_session():
    own = agentns.create_session()
    pid, sid, go = start_holder()
    try:
        with agentns.NsFile.of_pid(pid) as f:
            with f.ancestors() as anc:
                check_eq(1, len(anc.chain), "only the caller's own session is visible")
                check(not anc.complete, "the sessions above it are not")
                check_eq(None, anc.depth, "so the depth is unknown")
                check_eq(os.stat("/proc/self/ns/agent").st_ino, anc.chain[0].inode(),
                         "the parent is the caller's session")
        with agentns.NsFile.of_self() as f:
            check_eq(None, f.parent(), "EPERM above the caller's own session")
            check(not f.is_initial(), "not the initial session")
        check_eq(own, agentns.session_id(), "still in the own session")
    finally:
        check_eq(0, stop_holder(pid, go), "holder")


@test
def namespace_file_reads_the_session():
    sid = agentns.create_session()
    budget = Budget(syscalls=10**7, openat=10**5, action=Action.deny)
    agentns.set_budget(budget)
    with agentns.NsFile.of_self() as f:
        try:
            info = f.info()
        except agentns.AgentNSError as e:
            if e.errno == errno.ENOTTY:
                raise Skip("a kernel without AGENT_NS_GET_INFO") from None
            raise
        check_eq(sid, info.id, "AGENT_NS_GET_INFO id")
        check_eq(agentns.parent_id(), info.parent_id, "AGENT_NS_GET_INFO parent_id")
        check(info.depth >= 1, "depth %d" % info.depth)
        check_eq((), info.fired, "nothing fired")
        check_eq(budget, f.budget(), "AGENT_NS_GET_BUDGET")
        c0 = agentns.counters()
        open_n(3)
        c1 = f.counters()
        check(c1.openat >= c0.openat + 3, "AGENT_NS_GET_COUNTERS openat")


@test
def listns_lists_the_own_session():
    agentns.create_session()
    try:
        ids = agentns.listns()
    except agentns.AgentNSError as e:
        if e.errno == errno.ENOSYS:
            raise Skip("a kernel without listns(2)") from None
        raise
    with agentns.NsFile.of_self() as f:
        check(f.ns_id() in ids, "own ns id %d in %r" % (f.ns_id(), ids))


@test
def listing_from_the_initial_session():
    need_initial_session()
    pid, sid, go = start_nested(2)
    try:
        snap = agentns.list_sessions()
        b = snap.of_pid(pid)
        check(b is not None, "the nested child is listed")
        check_eq(sid, b.id, "its id")
        check_eq(2, b.depth, "its depth")
        a = snap.sessions.get(b.parent_inode)
        check(a is not None, "its parent is listed, with no process of its own")
        check_eq([], a.pids, "the parent's processes")
        check_eq(None, a.id, "the parent's id is not readable without a process")
        check_eq(1, a.depth, "the parent's depth")
        check(a.ns_id is not None, "the parent's namespace id")
        check_eq(os.stat("/proc/self/ns/agent").st_ino, a.parent_inode, "the grandparent")
        me = snap.of_pid(os.getpid())
        check(me is not None and me.initial and me.depth == 0, "the caller: %r" % (me,))
        trees = snap.trees()
        check(trees[0].session.initial, "the initial session first")
        j = snap.as_dict()
        check_eq(["sources", "sessions"], list(j), "the JSON's keys")
        check(j["sources"]["listns"], "listns(2) worked: %r" % (j["sources"],))
    finally:
        check_eq(0, stop_holder(pid, go), "nested child")


@test
def listing_from_inside_a_session():
    own = agentns.create_session()
    agentns.set_intent("lister")
    pid, sid, go = start_holder()
    try:
        snap = agentns.list_sessions()
        me = snap.of_pid(os.getpid())
        child = snap.of_pid(pid)
        check_eq(own, me.id, "the caller's session")
        check_eq("lister", me.intent, "its intent")
        check_eq(None, me.parent_inode, "its parent is not visible")
        check_eq(None, me.depth, "so its depth is unknown")
        check_eq(me.inode, child.parent_inode, "the child's parent is the caller's session")
        roots = [t for t in snap.trees() if t.session.inode == me.inode]
        check_eq(1, len(roots), "the caller's session is a root")
        check(any(c.session.inode == child.inode for c in roots[0].children),
              "with the child below it")
    finally:
        check_eq(0, stop_holder(pid, go), "holder")


# --- runner ----------------------------------------------------------------

def run_one(fn):
    """Runs fn in a child: ("ok"|"fail"|"skip", reason)."""
    r, w = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 1
        try:
            fn()
            code = 0
        except Skip as e:
            os.write(w, str(e).encode())
            code = 4
        except BaseException:  # noqa: BLE001
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        sys.stdout.flush()
        os._exit(code)
    os.close(w)
    deadline = time.monotonic() + TEST_TIMEOUT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return "fail", "timed out after %d s" % TEST_TIMEOUT_S
        time.sleep(0.02)
    reason = os.read(r, 4096).decode(errors="replace")
    os.close(r)
    if os.WIFSIGNALED(status):
        return "fail", "killed by signal %d" % os.WTERMSIG(status)
    code = os.WEXITSTATUS(status)
    if code == 0:
        return "ok", ""
    if code == 4:
        return "skip", reason
    return "fail", "exit status %d" % code


def main():
    print("TAP version 13")
    if not agentns.is_supported():
        print("1..1")
        print("ok 1 agentns_python # SKIP %s" % agentns.errors.NO_SUPPORT_HINT)
        return 4
    try:
        with open(SYSCTL_ENABLED) as f:
            enabled = f.read().strip()
    except OSError:
        enabled = "1"
    if enabled == "0":
        print("1..1")
        print("ok 1 agentns_python # SKIP %s" % agentns.errors.DISABLED_HINT)
        return 4
    selected = [t for t in TESTS if len(sys.argv) < 2 or t.__name__ in sys.argv[1:]]
    print("1..%d" % len(selected))
    failed = skipped = 0
    for i, fn in enumerate(selected, 1):
        t0 = time.monotonic()
        result, reason = run_one(fn)
        took = time.monotonic() - t0
        if result == "ok":
            print("ok %d %s" % (i, fn.__name__))
        elif result == "skip":
            skipped += 1
            print("ok %d %s # SKIP %s" % (i, fn.__name__, reason))
        else:
            failed += 1
            print("# %s: %s" % (fn.__name__, reason))
            print("not ok %d %s" % (i, fn.__name__))
        print("# %s took %.2f s" % (fn.__name__, took))
        sys.stdout.flush()
    print("# Totals: pass:%d fail:%d skip:%d"
          % (len(selected) - failed - skipped, failed, skipped))
    if failed:
        return 1
    return 4 if skipped == len(selected) else 0


if __name__ == "__main__":
    sys.exit(main())
