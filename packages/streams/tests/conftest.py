"""Loop factories every test of this package runs on, and the fd-leak check (as in transports)."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def _factories() -> list[Any]:
    params: list[Any] = [pytest.param(asyncio.new_event_loop, id="stdlib")]
    try:
        import uvloop
    except ImportError:
        params.append(pytest.param(None, id="uvloop", marks=pytest.mark.skip("no uvloop")))
    else:
        _smoke(uvloop.new_event_loop)
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
        problem = _smoke(factory)
        if problem is None:
            params.append(pytest.param(factory, id="corolla"))
        else:
            reason = f"corolla loop cannot run a coroutine yet: {problem}"
            params.append(pytest.param(None, id="corolla", marks=pytest.mark.skip(reason)))
    return params


def _smoke(factory: LoopFactory) -> str | None:
    """Run a trivial coroutine; this also opens process-wide descriptors before
    the first fd snapshot (uvloop keeps a wake-up pipe)."""
    try:
        loop = factory()
    except Exception as exc:
        return repr(exc)
    coro = _noop()
    try:
        loop.run_until_complete(coro)
    except Exception as exc:
        coro.close()
        return repr(exc)
    finally:
        loop.close()
    return None


async def _noop() -> None:
    pass


LOOP_FACTORIES = _factories()


def _open_fds() -> set[str]:
    try:
        names = os.listdir("/proc/self/fd")
    except FileNotFoundError:
        return set()
    result = set()
    for name in names:
        try:
            result.add(f"{name}->{os.readlink(f'/proc/self/fd/{name}')}")
        except OSError:
            pass
    return result


@pytest.fixture(autouse=True)
def no_fd_leaks() -> Iterator[None]:
    """Every test must leave the process with the file descriptors it started with."""
    gc.collect()
    before = _open_fds()
    yield
    gc.collect()
    leaked = _open_fds() - before
    assert not leaked, f"file descriptors leaked: {sorted(leaked)}"


@pytest.fixture(params=LOOP_FACTORIES)
def loop_factory(request: pytest.FixtureRequest) -> LoopFactory:
    factory: LoopFactory = request.param
    return factory


class Runner:
    """Runs coroutines on a fresh loop; records what reaches the exception handler."""

    def __init__(self, factory: LoopFactory) -> None:
        self.factory = factory
        self.errors: list[dict[str, Any]] = []

    def __call__(self, coro: Coroutine[Any, Any, Any], *, allow_errors: bool = False) -> Any:
        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            self.errors.append(context)

        async def main() -> Any:
            asyncio.get_running_loop().set_exception_handler(handler)
            return await asyncio.wait_for(coro, 30)

        with asyncio.Runner(loop_factory=self.factory) as r:
            result = r.run(main())
        if not allow_errors:
            assert not self.errors, self.errors
        return result


@pytest.fixture
def run(loop_factory: LoopFactory) -> Runner:
    return Runner(loop_factory)
