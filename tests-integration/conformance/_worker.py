"""Runs one CPython test_asyncio module with corolla swapped in (one subprocess).

Started by run.py; not meant to be run by hand (but it can be, to debug one
module: ``python _worker.py --module test_locks --mode loop --out /tmp/x.jsonl``).

It writes one JSON object per line to ``--out``:

- ``{"event": "unavailable", "reason": ...}`` the mode cannot be set up or the
  module cannot be imported with corolla swapped in;
- ``{"event": "swaps", "swapped": [...], "missing": [...]}`` what was replaced;
- ``{"event": "plan", "run": [ids], "out_of_scope": [[id, kind, reason]]}``;
- ``{"event": "start", "test": id, "t": time.monotonic()}`` before each test;
- ``{"event": "result", "test": id, "outcome": ..., "detail": ...}``;
- ``{"event": "end"}`` after the last test.

A test still running after ``--timeout`` seconds makes faulthandler dump every
thread's stack to stderr and end the process; run.py records that test as
hung and starts a new worker for the tests after it (``--skip``).

Standard library only: it runs inside every interpreter under test.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import inspect
import json
import os
import sys
import time
import traceback
import types
import unittest
import warnings
from collections.abc import Callable, Iterator
from typing import IO, Any, ClassVar

import classification

PACKAGE = "test.test_asyncio"

# asyncio attribute paths that the "classes" mode points at corolla's objects,
# grouped by the corolla import packages that may provide them. Never swapped:
# current_task/all_tasks and the other registry functions, which every
# implementation (corolla's included) shares and reads through asyncio.
_FUTURE_PATHS = ["Future", "futures.Future", "futures._CFuture", "futures._PyFuture"]
_TASK_PATHS = ["Task", "tasks.Task", "tasks._CTask", "tasks._PyTask"]
CLASS_SWAPS: list[tuple[tuple[str, ...], str, list[str]]] = [
    (("corolla.futures",), "Future", _FUTURE_PATHS),
    (("corolla.futures", "corolla.tasks"), "wrap_future", ["wrap_future", "futures.wrap_future"]),
    (("corolla.tasks",), "Task", _TASK_PATHS),
    *[
        (("corolla.tasks", "corolla.futures"), name, [name, f"tasks.{name}"])
        for name in (
            "gather", "wait", "wait_for", "shield", "as_completed", "sleep",
            "ensure_future", "run_coroutine_threadsafe", "create_task",
            "eager_task_factory", "create_eager_task_factory",
        )
    ],
    (("corolla.tasks", "corolla.futures"), "to_thread", ["to_thread", "threads.to_thread"]),
    *[
        (("corolla.tasks", "corolla.futures"), name, [name, f"timeouts.{name}"])
        for name in ("timeout", "timeout_at", "Timeout")
    ],
    (("corolla.tasks", "corolla.futures"), "TaskGroup", ["TaskGroup", "taskgroups.TaskGroup"]),
    # 3.14's call graph (no such names before: nothing is swapped there)
    *[
        (("corolla.tasks",), name, [name, f"graph.{name}"])
        for name in (
            "capture_call_graph", "format_call_graph", "print_call_graph",
            "FrameCallGraphEntry", "FutureCallGraph",
        )
    ],
    *[
        (("corolla.futures",), name, [name, f"futures.{name}"])
        for name in ("future_add_to_awaited_by", "future_discard_from_awaited_by")
    ],
    *[
        (("corolla.sync",), name, [name, f"locks.{name}"])
        for name in ("Lock", "Event", "Condition", "Semaphore", "BoundedSemaphore", "Barrier")
    ],
    *[
        (("corolla.queues",), name, [name, f"queues.{name}"])
        for name in (
            "Queue", "LifoQueue", "PriorityQueue", "QueueEmpty", "QueueFull", "QueueShutDown",
        )
    ],
    *[
        (("corolla.streams",), name, [name, f"streams.{name}"])
        for name in (
            "StreamReader", "StreamWriter", "StreamReaderProtocol", "open_connection",
            "start_server", "open_unix_connection", "start_unix_server",
        )
    ],
    *[
        (("corolla.subprocess",), name, [name, f"subprocess.{name}"])
        for name in ("create_subprocess_exec", "create_subprocess_shell")
    ],
    *[
        (("corolla.subprocess",), name, [f"subprocess.{name}"])
        for name in ("Process", "SubprocessStreamProtocol")
    ],
]  # fmt: skip


class Unavailable(Exception):
    """The mode cannot be set up in this interpreter (corolla piece missing)."""


class Emitter:
    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def __call__(self, event: str, **fields: Any) -> None:
        self._stream.write(json.dumps({"event": event, **fields}) + "\n")
        self._stream.flush()


# --------------------------------------------------------------------------
# swapping corolla in


def _set_path(root: types.ModuleType, dotted: str, value: object) -> bool:
    """Set asyncio.<dotted> to value; False when the stdlib has no such name."""
    *mods, name = dotted.split(".")
    target: object = root
    for mod in mods:
        target = getattr(target, mod, None)
        if target is None:
            return False
    if not hasattr(target, name):
        return False
    setattr(target, name, value)
    return True


def patch_loop() -> list[str]:
    """Make every way the tests obtain an event loop produce corolla's loop."""
    import asyncio

    # The runner must patch the stdlib's loop classes where the tests find them.
    import asyncio.unix_events as unix_events  # noqa: TID251

    try:
        loop_mod = importlib.import_module("corolla.loop")
    except ImportError as exc:
        raise Unavailable(f"cannot import corolla.loop: {exc}") from exc
    missing = [
        n for n in ("EventLoop", "EventLoopPolicy", "new_event_loop") if not hasattr(loop_mod, n)
    ]
    if missing:
        raise Unavailable(f"corolla.loop has no {', '.join(missing)} yet")

    base_loop: Any = loop_mod.EventLoop
    base_policy: Any = loop_mod.EventLoopPolicy
    new_event_loop: Callable[[], Any] = loop_mod.new_event_loop

    class SelectorEventLoop(base_loop):  # type: ignore[misc]
        """asyncio.SelectorEventLoop(selector) stand-in: corolla picks its own poller."""

        def __init__(self, selector: object = None) -> None:
            super().__init__()

    policy_cls: type = base_policy
    if hasattr(asyncio, "set_child_watcher"):
        # Test scaffolding, not corolla: the 3.11-3.13 tests install a stdlib
        # child watcher through the policy in setUp (and read it back in
        # close_loop); corolla watches its children itself and has none.
        class PolicyWithWatcher(base_policy):  # type: ignore[misc]
            _watcher: object = None

            def get_child_watcher(self) -> object:
                return self._watcher

            def set_child_watcher(self, watcher: object) -> None:
                self._watcher = watcher

        policy_cls = PolicyWithWatcher

    done = ["corolla.loop.EventLoop for asyncio.SelectorEventLoop/EventLoop"]
    for mod in (asyncio, unix_events):
        for name in ("SelectorEventLoop", "EventLoop"):
            if hasattr(mod, name):
                setattr(mod, name, SelectorEventLoop)
        if hasattr(mod, "DefaultEventLoopPolicy"):
            mod.DefaultEventLoopPolicy = policy_cls  # type: ignore[attr-defined]
    done.append("corolla.loop.EventLoopPolicy as asyncio.DefaultEventLoopPolicy and the policy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop_policy(policy_cls())

    test_utils: Any = importlib.import_module("test.test_asyncio.utils")

    orig_close_loop = test_utils.TestCase.close_loop

    def new_test_loop(self: Any, gen: object = None) -> Any:
        # The stdlib's TestLoop fakes time on a BaseEventLoop; corolla's loop runs
        # on real time and ignores the time generator.
        loop = new_event_loop()
        self.set_event_loop(loop)
        return loop

    def close_loop(loop: Any) -> None:
        if not isinstance(loop, base_loop):  # a stdlib loop built by the test
            orig_close_loop(loop)
            return
        if not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    test_utils.TestCase.new_test_loop = new_test_loop
    test_utils.TestCase.close_loop = staticmethod(close_loop)
    done.append("test_utils.TestCase.new_test_loop/close_loop")

    # Check the swap took: every public way to get a new loop gives corolla's.
    for make in (asyncio.new_event_loop, asyncio.SelectorEventLoop):
        loop = make()
        try:
            if not isinstance(loop, base_loop):
                raise Unavailable(f"{make.__name__}() still returns {type(loop).__name__}")
        finally:
            loop.close()
    return done


def patch_classes() -> tuple[list[str], list[str]]:
    """Point asyncio's public classes/functions at corolla's where corolla has them."""
    import asyncio

    swapped: list[str] = []
    missing: list[str] = []
    modules: dict[str, types.ModuleType | None] = {}
    for candidates, name, paths in CLASS_SWAPS:
        value: object = None
        source = ""
        for modname in candidates:
            if modname not in modules:
                try:
                    modules[modname] = importlib.import_module(modname)
                except ImportError:
                    modules[modname] = None
            mod = modules[modname]
            if mod is not None and name in getattr(mod, "__all__", ()):
                value = getattr(mod, name)
                source = f"{modname}.{name}"
                break
        if value is None:
            if any(_has_path(asyncio, p) for p in paths):
                missing.append(name)
            continue
        patched = [p for p in paths if _set_path(asyncio, p, value)]
        if patched:
            swapped.append(f"{source} -> asyncio.{', asyncio.'.join(patched)}")
    return swapped, missing


def _has_path(root: types.ModuleType, dotted: str) -> bool:
    target: object = root
    for part in dotted.split("."):
        if not hasattr(target, part):
            return False
        target = getattr(target, part)
    return True


# --------------------------------------------------------------------------
# running


class Recorder(unittest.TestResult):
    """Emits one start/result event per test and arms the hang guard."""

    SEVERITY: ClassVar[dict[str, int]] = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}

    def __init__(self, emit: Emitter, timeout: float) -> None:
        super().__init__()
        self.emit = emit
        self.timeout = timeout
        self._outcome = "passed"
        self._detail = ""
        self._t0 = 0.0

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self._outcome, self._detail = "passed", ""
        self._t0 = time.monotonic()
        # The runner judges "hung" against this stamp, not against when it
        # happened to read the event (CLOCK_MONOTONIC is system-wide).
        self.emit("start", test=test.id(), t=self._t0)
        faulthandler.dump_traceback_later(self.timeout, exit=True)

    def stopTest(self, test: unittest.TestCase) -> None:
        faulthandler.cancel_dump_traceback_later()
        super().stopTest(test)
        self.emit(
            "result",
            test=test.id(),
            outcome=self._outcome,
            detail=self._detail[-4000:],
            seconds=round(time.monotonic() - self._t0, 3),
        )
        # Python 3.12.1 reports a decorator-skipped test without startTest():
        # start every test from a clean slate here too.
        self._outcome, self._detail = "passed", ""
        self._t0 = time.monotonic()

    def _set(self, outcome: str, detail: str) -> None:
        if self.SEVERITY[outcome] >= self.SEVERITY[self._outcome]:
            self._outcome = outcome
            self._detail = detail

    def _fmt(self, err: Any) -> str:
        return "".join(traceback.format_exception(*err))

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        if isinstance(test, unittest.TestCase):
            self._set("error", self._fmt(err))
        else:  # setUpClass/setUpModule/tearDown*: not inside a test
            self.emit("result", test=str(test), outcome="error", detail=self._fmt(err)[-4000:])

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._set("failed", self._fmt(err))

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._set("skipped", reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        super().addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._set("failed", "unexpected success")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "failed" if issubclass(err[0], test.failureException) else "error"
            self._set(kind, f"{subtest}: {self._fmt(err)}")


def test_source(test: unittest.TestCase) -> str:
    """The test method's source with its decorators ("" when unavailable)."""
    method = getattr(test, getattr(test, "_testMethodName", ""), None)
    if method is None:
        return ""
    try:
        return inspect.getsource(inspect.unwrap(method))
    except (OSError, TypeError):
        return ""


def iter_tests(suite: unittest.TestSuite | unittest.TestCase) -> Iterator[unittest.TestCase]:
    if isinstance(suite, unittest.TestCase):
        yield suite
        return
    for item in suite:
        yield from iter_tests(item)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", required=True)
    parser.add_argument("--mode", choices=("stdlib", "loop", "classes"), required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--skip", help="file with test ids not to run (one a line)")
    parser.add_argument("--package", default=PACKAGE, help="package holding the module")
    args = parser.parse_args(argv)

    skip: set[str] = set()
    if args.skip:
        with open(args.skip) as f:
            skip = {line.strip() for line in f if line.strip()}

    with open(args.out, "a", buffering=1) as out:
        emit = Emitter(out)
        try:
            if args.mode in ("loop", "classes"):
                swaps = patch_loop()
                missing: list[str] = []
                if args.mode == "classes":
                    extra, missing = patch_classes()
                    swaps += extra
                emit("swaps", swapped=swaps, missing=missing)
        except Unavailable as exc:
            emit("unavailable", reason=str(exc))
            return 0
        except Exception:
            emit("unavailable", reason="setting up the mode failed:\n" + traceback.format_exc())
            return 0
        try:
            module = importlib.import_module(f"{args.package}.{args.module}")
        except unittest.SkipTest as exc:
            emit("plan", run=[], out_of_scope=[], module_skipped=str(exc))
            emit("end")
            return 0
        except Exception:
            emit("unavailable", reason="importing the module failed:\n" + traceback.format_exc())
            return 0

        loader = unittest.TestLoader()
        tests = list(iter_tests(loader.loadTestsFromModule(module)))
        run: list[unittest.TestCase] = []
        out_of_scope: list[list[str]] = []
        for test in tests:
            rule = classification.classify(args.module, test.id(), test_source(test))
            if rule is not None:
                out_of_scope.append([test.id(), rule.kind, rule.reason])
            elif test.id() not in skip:
                run.append(test)
        if not skip:
            emit("plan", run=[t.id() for t in run], out_of_scope=out_of_scope)

        recorder = Recorder(emit, args.timeout)
        unittest.TestSuite(run).run(recorder)
        emit("end")
    sys.stdout.flush()
    sys.stderr.flush()
    # Leftover non-daemon threads from a failed test must not keep us alive.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
