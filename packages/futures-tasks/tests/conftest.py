"""Fixtures: every test runs on the stdlib loop and, once it exists, on corolla's."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Iterator

import pytest


def _corolla_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        module = importlib.import_module("corolla.loop")
    except ImportError:
        return None
    factory = getattr(module, "new_event_loop", None)
    # The corolla loop creates corolla tasks: it needs corolla.tasks.Task.
    if not hasattr(importlib.import_module("corolla.tasks"), "Task"):
        return None
    return factory if callable(factory) else None


LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop] | None] = {
    "stdlib": asyncio.new_event_loop,
    "corolla": _corolla_loop_factory(),
}


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def loop_factory(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    factory = LOOP_FACTORIES[request.param]
    if factory is None:
        pytest.skip("corolla.loop.new_event_loop does not exist yet")
    return factory


@pytest.fixture
def loop(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> Iterator[asyncio.AbstractEventLoop]:
    loop = loop_factory()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()
