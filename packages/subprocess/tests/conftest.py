"""Loops and watch modes the tests run on; fd, thread and zombie checks.

The loop factories, ``Runner`` and the fd/thread leak check are the fixtures
every corolla package shares (tools/testing, ``corolla_testing``); this
package adds the child-watching modes and the zombie check.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator

import pytest
from corolla_testing import LoopFactory, Runner, loop_factory, no_leaks

from corolla.subprocess import _watch

__all__ = ["loop_factory", "no_leaks", "no_zombies", "run", "watch_mode"]


def _warm_up(factory: LoopFactory) -> None:
    """Spawn one child through the loop's own machinery: uvloop keeps process-wide
    descriptors from its first spawn on, which the fd snapshot must not count."""

    async def spawn() -> None:
        proc = await asyncio.create_subprocess_exec("true")
        await proc.wait()

    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(spawn())


try:
    import uvloop
except ImportError:
    pass
else:
    _warm_up(uvloop.new_event_loop)


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


@pytest.fixture(autouse=True)
def no_zombies() -> Iterator[None]:
    """Every test collects every child it started (watcher threads are let finish first)."""
    threads_before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 10.0  # a hang guard only
    for thread in [t for t in threading.enumerate() if t not in threads_before]:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not zombie_children(), f"zombie children: {zombie_children()}"


@pytest.fixture(params=["pidfd", "thread"])
def watch_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    mode: str = request.param
    if mode == "pidfd" and not hasattr(os, "pidfd_open"):
        pytest.skip("no os.pidfd_open")
    old = _watch.set_watch_mode(mode)
    yield mode
    _watch.set_watch_mode(old)


@pytest.fixture
def run(loop_factory: LoopFactory, watch_mode: str) -> Runner:
    """Run a coroutine on a fresh loop of the parametrized kind and watch mode."""
    return Runner(loop_factory)
