"""Which of CPython's asyncio tests the conformance run counts, as data.

Each rule names a test module, an fnmatch pattern matched against
``Class.test_method`` (the unittest id without the module prefix) and the
reason the matching tests are out of scope. Out-of-scope tests are listed in
the report but neither run nor counted as failures. A pattern of ``*`` takes
the whole module out (it is then not even imported).

Reasons fall into a few kinds (``KINDS``); README.md lists every rule and is
checked against this file by tests-integration/test_conformance_runner.py.

This module is imported by the worker inside every interpreter under test, so
it uses nothing but the standard library.
"""

from __future__ import annotations

import fnmatch
from typing import NamedTuple

KINDS: dict[str, str] = {
    "windows": "Windows/proactor only: corolla is Linux first, and these never run on Linux.",
    "duplicate": (
        "A second copy of tests that also run under another class name: the same mixin "
        "re-run per selector (every variant builds corolla's one loop once it is swapped in) "
        "or per stdlib implementation (the pure-Python _PyFuture/_PyTask twins of the C "
        "classes; corolla replaces the class once and the C-named variant runs it)."
    ),
    "private": (
        "Tests of CPython's private internals: private attributes or methods "
        "(BaseEventLoop._selector, _run_once, _internal_fds, ...), mocked sockets, selectors "
        "or modules patched inside asyncio.* — not behaviour a program can observe."
    ),
    "virtual-time": (
        "Tests that drive the fake clock of CPython's TestLoop (new_test_loop(gen), "
        "loop.advance_time) and assert exact loop.time() values; corolla's loop, like any "
        "real loop, runs on the monotonic clock."
    ),
    "stdlib-only": (
        "Tests of stdlib classes that corolla reuses or does not replace and that the tests "
        "construct directly (the abstract interfaces, Handle/TimerHandle built by hand, "
        "child watchers, base_events.Server): they pass or fail the same whatever loop runs."
    ),
}


class Rule(NamedTuple):
    module: str  # a test module name, or "*" for every module
    pattern: str  # fnmatch pattern on "Class.test_method"
    kind: str
    reason: str
    source: str = ""  # if set: only tests whose source (with decorators) contains it


RULES: list[Rule] = [
    # --- any module, by what the test's source does ------------------------
    Rule(
        "*",
        "*",
        "virtual-time",
        "builds a TestLoop with a time generator",
        source="new_test_loop(gen",
    ),
    Rule("*", "*", "virtual-time", "advances TestLoop's fake clock", source="advance_time("),
    Rule(
        "*",
        "*",
        "private",
        "patches asyncio.base_events.logger, the stdlib loop's module global",
        source="'asyncio.base_events.logger'",
    ),
    Rule(
        "*",
        "*",
        "private",
        "patches asyncio.base_events.BaseEventLoop methods",
        source="'asyncio.base_events.BaseEventLoop.",
    ),
    Rule("*", "*", "private", "steps the loop with loop._run_once()", source="._run_once()"),
    Rule("*", "*", "private", "reads the loop's private ready queue", source="loop._ready"),
    Rule(
        "*",
        "*",
        "private",
        "patches a module global inside asyncio (the stdlib implementation's imports)",
        source="mock.patch('asyncio.",
    ),
    # --- whole modules -----------------------------------------------------
    Rule("test_proactor_events", "*", "windows", "IOCP proactor loop and transports"),
    Rule("test_windows_events", "*", "windows", "Windows event loop"),
    Rule("test_windows_utils", "*", "windows", "Windows pipe helpers"),
    Rule(
        "test_base_events",
        "*",
        "private",
        "BaseEventLoop internals (_run_once, _ready, _scheduled, _selector) driven with "
        "mocked sockets and selectors; the observable behaviour is covered by test_events, "
        "test_sock_lowlevel and test_sendfile",
    ),
    Rule(
        "test_selector_events",
        "*",
        "private",
        "BaseSelectorEventLoop and _Selector*Transport internals on mock sockets and a "
        "mock selector",
    ),
    Rule(
        "test_protocols",
        "*",
        "stdlib-only",
        "asyncio's abstract protocol classes, which corolla reuses unchanged",
    ),
    Rule(
        "test_transports",
        "*",
        "stdlib-only",
        "asyncio's abstract transport classes, which corolla reuses unchanged",
    ),
    # --- test_events -------------------------------------------------------
    Rule(
        "test_events",
        "KqueueEventLoopTests.*",
        "duplicate",
        "kqueue variant of EPollEventLoopTests",
    ),
    Rule("test_events", "PollEventLoopTests.*", "duplicate", "poll variant of EPollEventLoopTests"),
    Rule(
        "test_events",
        "SelectEventLoopTests.*",
        "duplicate",
        "select variant of EPollEventLoopTests",
    ),
    Rule("test_events", "ProactorEventLoopTests.*", "windows", "proactor variant"),
    Rule(
        "test_events",
        "*.test_internal_fds",
        "private",
        "reads loop._internal_fds, loop._csock, loop._ssock",
    ),
    Rule("test_events", "*.test_timeout_rounding", "private", "replaces loop._run_once"),
    Rule(
        "test_events",
        "*.test_prompt_cancellation",
        "private",
        "calls loop._stop_serving (a proactor internal)",
    ),
    Rule(
        "test_events",
        "*.test_create_server_multiple_hosts_*",
        "private",
        "mocks asyncio.base_events.socket and loop._start_serving",
    ),
    Rule(
        "test_events",
        "HandleTests.*",
        "stdlib-only",
        "constructs asyncio.Handle by hand on a mock loop",
    ),
    Rule(
        "test_events",
        "TimerTests.*",
        "stdlib-only",
        "constructs asyncio.TimerHandle by hand on a mock loop",
    ),
    Rule(
        "test_events",
        "AbstractEventLoopTests.*",
        "stdlib-only",
        "asyncio.AbstractEventLoop's own NotImplementedError stubs",
    ),
    Rule(
        "test_events",
        "TestAbstractServer.*",
        "stdlib-only",
        "asyncio.AbstractServer's own NotImplementedError stubs",
    ),
    Rule(
        "test_events",
        "PolicyTests.test_get_event_loop",
        "private",
        "reads policy._local._loop",
    ),
    Rule("test_events", "TestServer.*", "private", "base_events.Server built on a mock loop"),
    Rule(
        "test_events",
        "TestPyGetEventLoop.*",
        "duplicate",
        "pure-Python twin of TestCGetEventLoop (stdlib running-loop registry)",
    ),
    # --- test_futures / test_futures2 --------------------------------------
    Rule("test_futures", "PyFuture*", "duplicate", "pure-Python twin of the CFuture* classes"),
    Rule("test_futures2", "PyFutureTests.*", "duplicate", "pure-Python twin of CFutureTests"),
    Rule(
        "test_futures",
        "*.test_future_exception_never_retrieved*",
        "private",
        "its helper patches asyncio.base_events.logger",
    ),
    # --- test_tasks ----------------------------------------------------------
    Rule("test_tasks", "PyTask_*", "duplicate", "pure-Python Task twin of CTask_CFuture_*"),
    Rule("test_tasks", "CTask_PyFuture_*", "duplicate", "C Task on pure-Python Future twin"),
    Rule("test_tasks", "CTaskSubclass_PyFuture_*", "duplicate", "mixed C/Py twin"),
    Rule("test_tasks", "PyIntrospectionTests.*", "duplicate", "pure-Python twin"),
    Rule("test_tasks", "PyCurrentLoopTests.*", "duplicate", "pure-Python twin"),
    # --- test_eager_task_factory (3.12+) -----------------------------------
    Rule("test_eager_task_factory", "Py*", "duplicate", "pure-Python Task twin"),
    Rule("test_eager_task_factory", "*PyTask*", "duplicate", "pure-Python Task twin"),
    # --- test_sock_lowlevel / test_sendfile --------------------------------
    Rule("test_sock_lowlevel", "KqueueEventLoopTests.*", "duplicate", "selector variant"),
    Rule("test_sock_lowlevel", "PollEventLoopTests.*", "duplicate", "selector variant"),
    Rule("test_sock_lowlevel", "SelectEventLoopTests.*", "duplicate", "selector variant"),
    Rule("test_sock_lowlevel", "ProactorEventLoopTests.*", "windows", "proactor variant"),
    Rule("test_sendfile", "KqueueEventLoopTests.*", "duplicate", "selector variant"),
    Rule("test_sendfile", "PollEventLoopTests.*", "duplicate", "selector variant"),
    Rule("test_sendfile", "SelectEventLoopTests.*", "duplicate", "selector variant"),
    Rule("test_sendfile", "ProactorEventLoopTests.*", "windows", "proactor variant"),
    # --- servers, protocols, TLS -------------------------------------------
    Rule("test_server", "ProactorStartServerTests.*", "windows", "proactor variant"),
    Rule("test_buffered_proto", "BufferedProtocolProactorTests.*", "windows", "proactor variant"),
    Rule("test_sslproto", "ProactorStartTLSTests.*", "windows", "proactor variant"),
    Rule(
        "test_sendfile",
        "*.test_sendfile_force_unsupported_native",
        "private",
        "replaces loop._sendfile_native with base_events.BaseEventLoop's",
    ),
    Rule(
        "test_server",
        "*",
        "private",
        "calls the stdlib Server's private connection counter _attach()/_detach() (3.12)",
        source="srv._attach()",
    ),
    Rule(
        "test_ssl",
        "*.test_flush_before_shutdown",
        "private",
        "drives the stdlib transport's private _ssl_protocol (sslproto.SSLProtocol)",
    ),
    Rule(
        "test_ssl",
        "*.test_remote_shutdown_receives_trailing_data",
        "private",
        "fills the write backlog with the stdlib transport's _test__append_write_backlog",
    ),
    Rule(
        "test_sslproto",
        "SslProtoHandshakeTests.*",
        "private",
        "drives sslproto.SSLProtocol directly with a mock loop and transport",
    ),
    # --- subprocess ------------------------------------------------------------
    Rule(
        "test_subprocess",
        "SubprocessTransportTests.*",
        "private",
        "base_subprocess.BaseSubprocessTransport with a mocked Popen",
    ),
    Rule(
        "test_subprocess",
        "Subprocess*WatcherTests.*",
        "duplicate",
        "one run per stdlib child watcher; SubprocessThreadedWatcherTests is kept",
    ),
    Rule(
        "test_subprocess",
        "MultiLoopChildWatcherTests.*",
        "stdlib-only",
        "the stdlib's MultiLoopChildWatcher",
    ),
    Rule("test_subprocess", "GenericWatcherTests.*", "private", "patches unix_events internals"),
    Rule("test_subprocess", "SubprocessProactorTests.*", "windows", "proactor variant"),
    # --- test_unix_events --------------------------------------------------
    Rule(
        "test_unix_events",
        "SelectorEventLoopSignalTests.*",
        "private",
        "mocks asyncio.unix_events.signal",
    ),
    Rule(
        "test_unix_events",
        "Unix*PipeTransportTests.*",
        "private",
        "unix_events._Unix*PipeTransport on a mock loop and mocked os.read/os.write",
    ),
    Rule(
        "test_unix_events",
        "SelectorEventLoopUnixSockSendfileTests.*",
        "private",
        "calls loop._sock_sendfile_native(_impl) with mocked futures and os.sendfile",
    ),
    Rule("test_unix_events", "*ChildWatcherTests.*", "stdlib-only", "the stdlib's child watchers"),
    Rule(
        "test_unix_events",
        "PolicyTests.*",
        "stdlib-only",
        "the unix policy's child-watcher plumbing",
    ),
]

# Rules of the "Subprocess*WatcherTests" kind carve out exceptions here: the
# one variant kept in scope for each module.
KEEP: dict[str, list[str]] = {
    "test_subprocess": ["SubprocessThreadedWatcherTests.*"],
}


def short_id(test_id: str) -> str:
    """``test.test_asyncio.test_locks.LockTests.test_repr`` -> ``LockTests.test_repr``."""
    parts = test_id.split(".")
    return ".".join(parts[-2:]) if len(parts) >= 2 else test_id


def module_excluded(module: str) -> Rule | None:
    """The rule that takes a whole module out of scope, if any."""
    for rule in RULES:
        if rule.module == module and rule.pattern == "*" and not rule.source:
            return rule
    return None


def classify(module: str, test_id: str, source: str = "") -> Rule | None:
    """The first rule putting ``test_id`` of ``module`` out of scope, or None (in scope).

    ``source`` is the test method's source text, for the rules that look at it.
    """
    name = short_id(test_id)
    for keep in KEEP.get(module, []):
        if fnmatch.fnmatchcase(name, keep):
            return None
    for rule in RULES:
        if rule.module not in (module, "*") or not fnmatch.fnmatchcase(name, rule.pattern):
            continue
        if rule.source and rule.source not in source:
            continue
        return rule
    return None
