"""Loop factories every test of this package runs on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

_T = TypeVar("_T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def _factories() -> list[Any]:
    params: list[Any] = [pytest.param(asyncio.new_event_loop, id="stdlib")]
    try:
        import uvloop
    except ImportError:
        params.append(pytest.param(None, id="uvloop", marks=pytest.mark.skip("no uvloop")))
    else:
        params.append(pytest.param(uvloop.new_event_loop, id="uvloop"))
    try:
        import corolla.loop as corolla_loop
    except ImportError:
        corolla_loop = None  # type: ignore[assignment]
    factory = getattr(corolla_loop, "new_event_loop", None)
    if factory is None:
        params.append(
            pytest.param(None, id="corolla", marks=pytest.mark.skip("no corolla loop yet"))
        )
    else:
        params.append(pytest.param(factory, id="corolla"))
    return params


LOOP_FACTORIES = _factories()


@pytest.fixture(params=LOOP_FACTORIES)
def loop_factory(request: pytest.FixtureRequest) -> LoopFactory:
    factory: LoopFactory = request.param
    return factory


Run = Callable[[Coroutine[Any, Any, _T]], _T]


@pytest.fixture
def run(loop_factory: LoopFactory) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """Runs a coroutine to completion on a fresh loop of the parametrized kind."""

    def runner(coro: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=loop_factory) as r:
            return r.run(asyncio.wait_for(coro, 30))

    return runner
