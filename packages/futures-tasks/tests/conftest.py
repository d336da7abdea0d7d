"""Fixtures: every test runs on the stdlib loop and on corolla's (when installed),
and must leave no file descriptors or threads behind.

The loop parameters and the leak check come from the fixtures every corolla
package shares (tools/testing, ``corolla_testing``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from corolla_testing import loop_params, no_leaks

__all__ = ["loop", "loop_factory", "no_leaks"]

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


@pytest.fixture(params=loop_params("stdlib", "corolla"))
def loop_factory(request: pytest.FixtureRequest) -> LoopFactory:
    factory: LoopFactory = request.param
    return factory


@pytest.fixture
def loop(loop_factory: LoopFactory) -> Iterator[asyncio.AbstractEventLoop]:
    loop = loop_factory()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()
