"""Loop factories every test of this package runs on."""

from __future__ import annotations

import asyncio
import gc
import warnings
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
    problem = "no corolla.loop.new_event_loop yet" if factory is None else _smoke(factory)
    if problem:
        params.append(pytest.param(None, id="corolla", marks=pytest.mark.skip(problem)))
    else:
        params.append(pytest.param(factory, id="corolla"))
    return params


def _smoke(factory: LoopFactory) -> str:
    # The corolla loop is being built alongside: use it once it runs tasks.
    async def probe() -> int:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(asyncio.sleep(0, 1))
        asyncio.get_running_loop().call_soon(fut.set_result, 2)
        return await task + await fut

    with warnings.catch_warnings():
        # A half-built loop leaves never-awaited coroutines behind.
        warnings.simplefilter("ignore")
        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                if runner.run(probe()) == 3:
                    return ""
                return "corolla loop gave a wrong result"
        except Exception as exc:
            return f"corolla loop not usable yet: {exc!r}"
        finally:
            gc.collect()


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
