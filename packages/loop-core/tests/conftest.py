"""Fixtures for corolla.loop tests: loops to run on, and a leak check around every test."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import corolla.loop

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def has_tasks() -> bool:
    """corolla.tasks.Task exists (it is built alongside this package)."""
    try:
        import corolla.tasks
    except ImportError:
        return False
    return hasattr(corolla.tasks, "Task")


@pytest.fixture
def need_tasks() -> None:
    """Skip until corolla.tasks.Task exists."""
    if not has_tasks():
        pytest.skip("corolla.tasks.Task not available yet")


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail a test that leaves file descriptors open or threads running."""
    gc.collect()
    fds_before = _open_fds()
    threads_before = set(threading.enumerate())
    yield
    gc.collect()
    deadline = time.monotonic() + 10.0  # hang guard for threads that are finishing
    extra = [t for t in threading.enumerate() if t not in threads_before]
    for thread in extra:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in extra if t.is_alive()]
    assert not alive, f"threads left running: {alive}"
    leaked = _open_fds() - fds_before
    # listdir itself opened (and closed) one fd; what is left must be gone.
    leaked = {fd for fd in leaked if os.path.exists(f"/proc/self/fd/{fd}")}
    assert not leaked, f"file descriptors leaked: {sorted(leaked)}"


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Shut a loop down the way asyncio.run does, then close it."""
    if not loop.is_closed():
        if has_tasks() or not isinstance(loop, corolla.loop.EventLoop):
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


LOOPS = [
    pytest.param(corolla.loop.new_event_loop, id="corolla"),
    pytest.param(asyncio.new_event_loop, id="stdlib"),
]


@pytest.fixture(params=LOOPS)
def any_loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    """A corolla loop, and the stdlib loop to check the behaviour is the same."""
    loop = request.param()
    yield loop
    close_loop(loop)


@pytest.fixture
def loop() -> Iterator[corolla.loop.EventLoop]:
    """A corolla loop."""
    loop = corolla.loop.new_event_loop()
    yield loop
    close_loop(loop)
