"""Loop factories and watch modes the tests run on; fd, thread and zombie checks."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from corolla.subprocess import _watch

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def _factories() -> list[Any]:
    params: list[Any] = [pytest.param(asyncio.new_event_loop, id="stdlib")]
    try:
        import uvloop
    except ImportError:
        params.append(pytest.param(None, id="uvloop", marks=pytest.mark.skip("no uvloop")))
    else:
        _warm_up(uvloop.new_event_loop)
        params.append(pytest.param(uvloop.new_event_loop, id="uvloop"))
    try:
        import corolla.loop as corolla_loop
    except ImportError:
        corolla_loop = None  # type: ignore[assignment]
    factory = getattr(corolla_loop, "new_event_loop", None)
    if factory is None:
        params.append(pytest.param(None, id="corolla", marks=pytest.mark.skip("no corolla loop")))
    else:
        params.append(pytest.param(factory, id="corolla"))
    return params


def _warm_up(factory: LoopFactory) -> None:
    """Spawn one child through the loop's own machinery: uvloop keeps process-wide
    descriptors from its first spawn on, which the fd snapshot must not count."""

    async def spawn() -> None:
        proc = await asyncio.create_subprocess_exec("true")
        await proc.wait()

    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(spawn())


LOOP_FACTORIES = _factories()


def _open_fds() -> set[str]:
    result = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            result.add(f"{name}->{os.readlink(f'/proc/self/fd/{name}')}")
        except OSError:
            pass
    return result


def zombie_children() -> list[int]:
    """Pids of this process's children that exited and were never collected."""
    me = os.getpid()
    zombies = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ..." where comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z" and int(fields[1]) == me:
            zombies.append(int(name))
    return zombies


def live_children() -> list[int]:
    me = os.getpid()
    children = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == me:
            children.append(int(name))
    return children


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Every test leaves no fd open, no watcher thread running and no zombie child."""
    gc.collect()
    before = _open_fds()
    threads_before = set(threading.enumerate())
    yield
    gc.collect()
    deadline = time.monotonic() + 10.0  # hang guard only
    for thread in [t for t in threading.enumerate() if t not in threads_before]:
        thread.join(max(0.0, deadline - time.monotonic()))
    leaked = _open_fds() - before
    assert not leaked, f"file descriptors leaked: {sorted(leaked)}"
    assert not zombie_children(), f"zombie children: {zombie_children()}"
    alive = [t.name for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    assert not alive, f"threads left running: {alive}"


@pytest.fixture(params=LOOP_FACTORIES)
def loop_factory(request: pytest.FixtureRequest) -> LoopFactory:
    factory: LoopFactory = request.param
    return factory


@pytest.fixture(params=["pidfd", "thread"])
def watch_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    mode: str = request.param
    if mode == "pidfd" and not hasattr(os, "pidfd_open"):
        pytest.skip("no os.pidfd_open")
    old = _watch.set_watch_mode(mode)
    yield mode
    _watch.set_watch_mode(old)


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
def run(loop_factory: LoopFactory, watch_mode: str) -> Runner:
    return Runner(loop_factory)
