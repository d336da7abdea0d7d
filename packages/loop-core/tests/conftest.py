"""Fixtures for corolla.loop tests: loops to run on, and a leak check around every test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from corolla_testing import no_leaks

import corolla.loop

__all__ = ["no_leaks"]  # the shared leak check (tools/testing), autouse here

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
