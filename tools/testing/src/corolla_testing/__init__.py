"""Fixtures every corolla package's tests share (development only, never published).

A package's ``tests/conftest.py`` imports the fixtures it wants, which makes
them available (and ``no_leaks`` autouse) for that package's tests::

    from corolla_testing import loop_factory, no_leaks, run  # noqa: F401

- ``loop_factory``: parametrized over the stdlib loop, uvloop and the corolla
  loop. An implementation that is not installed (or cannot run a coroutine)
  is a skipped parameter, so a leaf package can be tested alone.
- ``run``: runs a coroutine on a fresh loop of that kind (``asyncio.Runner``)
  with a 30 s hang guard, and fails the test if anything reached the loop's
  exception handler (unless ``allow_errors=True``; the contexts are kept in
  ``run.errors``).
- ``no_leaks`` (autouse): the test must leave the process with the file
  descriptors and threads it started with.

``loop_params(*names)`` builds the same parameters for a package that wants
another set of loops in a fixture of its own.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import os
import threading
import time
import warnings
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

__all__ = [
    "LoopFactory",
    "Runner",
    "corolla_loop_factory",
    "loop_factory",
    "loop_params",
    "no_leaks",
    "open_fds",
    "run",
]

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

ALL_LOOPS = ("stdlib", "uvloop", "corolla")


def corolla_loop_factory() -> LoopFactory | None:
    """``corolla.loop.new_event_loop`` when corolla's loop is installed, else None."""
    try:
        module = importlib.import_module("corolla.loop")
    except ImportError:
        return None
    factory = getattr(module, "new_event_loop", None)
    return factory if callable(factory) else None


def _uvloop_factory() -> LoopFactory | None:
    try:
        module = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: LoopFactory = module.new_event_loop
    return factory


def _smoke(factory: LoopFactory) -> str | None:
    """Why ``factory``'s loop cannot run tasks and futures, or None if it can.

    Running it once also opens the process-wide descriptors a loop keeps
    (uvloop's wake-up pipe) before the first leak-check snapshot.
    """

    async def probe() -> int:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        task = asyncio.ensure_future(asyncio.sleep(0, 1))
        loop.call_soon(fut.set_result, 2)
        return await task + await fut

    with warnings.catch_warnings():
        # A half-built loop leaves never-awaited coroutines behind.
        warnings.simplefilter("ignore")
        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                result = runner.run(probe())
        except Exception as exc:
            return repr(exc)
        finally:
            gc.collect()
    return None if result == 3 else f"wrong result {result!r}"


_FACTORIES: dict[str, Callable[[], LoopFactory | None]] = {
    "stdlib": lambda: asyncio.new_event_loop,
    "uvloop": _uvloop_factory,
    "corolla": corolla_loop_factory,
}


def loop_params(*names: str) -> list[Any]:
    """``pytest.param`` for each loop named (default: all), skipped where unusable."""
    params: list[Any] = []
    for name in names or ALL_LOOPS:
        factory = _FACTORIES[name]()
        problem = "not installed" if factory is None else _smoke(factory)
        if problem is None:
            params.append(pytest.param(factory, id=name))
        else:
            mark = pytest.mark.skip(f"{name} loop unusable: {problem}")
            params.append(pytest.param(None, id=name, marks=mark))
    return params


@pytest.fixture(params=loop_params())
def loop_factory(request: pytest.FixtureRequest) -> LoopFactory:
    """A loop factory: the stdlib's, uvloop's, corolla's."""
    factory: LoopFactory = request.param
    return factory


class Runner:
    """Runs coroutines on fresh loops; records what reaches the exception handler."""

    def __init__(self, factory: LoopFactory) -> None:
        self.factory = factory
        self.errors: list[dict[str, Any]] = []

    def __call__(self, coro: Coroutine[Any, Any, Any], *, allow_errors: bool = False) -> Any:
        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            self.errors.append(context)

        async def main() -> Any:
            asyncio.get_running_loop().set_exception_handler(handler)
            return await asyncio.wait_for(coro, 30)  # a hang guard, not a timing

        with asyncio.Runner(loop_factory=self.factory) as r:
            result = r.run(main())
        if not allow_errors:
            assert not self.errors, self.errors
        return result


@pytest.fixture
def run(loop_factory: LoopFactory) -> Runner:
    """Run a coroutine to completion on a fresh loop of the parametrized kind."""
    return Runner(loop_factory)


def open_fds() -> set[str]:
    """This process's open file descriptors, as ``"fd->target"`` strings."""
    try:
        names = os.listdir("/proc/self/fd")
    except FileNotFoundError:  # no /proc: the check is Linux-only
        return set()
    result = set()
    for name in names:
        try:
            result.add(f"{name}->{os.readlink(f'/proc/self/fd/{name}')}")
        except OSError:  # the fd listdir itself used, now closed
            pass
    return result


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail a test that leaves file descriptors open or threads running."""
    gc.collect()
    fds_before = open_fds()
    threads_before = set(threading.enumerate())
    yield
    gc.collect()
    deadline = time.monotonic() + 10.0  # a hang guard for threads that are finishing
    extra = [t for t in threading.enumerate() if t not in threads_before]
    for thread in extra:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in extra if t.is_alive()]
    assert not alive, f"threads left running: {alive}"
    gc.collect()
    leaked = open_fds() - fds_before
    assert not leaked, f"file descriptors leaked: {sorted(leaked)}"
