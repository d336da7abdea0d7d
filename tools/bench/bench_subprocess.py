"""Subprocess benchmarks: the impl picks the loop (stdlib, corolla or uvloop).

"stdlib" and "uvloop" run asyncio.create_subprocess_exec on their loop (each
loop's own subprocess machinery); "corolla" runs
corolla.subprocess.create_subprocess_exec on corolla's loop (corolla's
transport, pidfd child watching and corolla.streams).

- spawn_wait: start `true` and wait for it, 200 times in a row
  (ops = children per second);
- pipe_16mb: `head -c 16M /dev/zero` with stdout=PIPE, read to EOF with
  read(1 MiB), then wait (ops = MiB per second through the pipe).

Run alone: python tools/bench/bench_subprocess.py  (prints ops/s and corolla/stdlib ratios)
"""

from __future__ import annotations

import asyncio
import math
import shutil
import time
from collections.abc import Callable
from typing import Any

from _table import print_table

TRUE = shutil.which("true") or "/bin/true"
HEAD = shutil.which("head") or "/usr/bin/head"
PIPE_MB = 16


def _setup(impl: str) -> tuple[asyncio.AbstractEventLoop, Any] | None:
    """(loop, create_subprocess_exec) for ``impl``, or None when it is not installed."""
    if impl == "stdlib":
        return asyncio.new_event_loop(), asyncio.create_subprocess_exec
    if impl == "corolla":
        try:
            import corolla.loop
            import corolla.subprocess
        except ImportError:
            return None
        if not hasattr(corolla.subprocess, "create_subprocess_exec"):
            return None
        return corolla.loop.new_event_loop(), corolla.subprocess.create_subprocess_exec
    if impl == "uvloop":
        try:
            import uvloop
        except ImportError:
            return None
        return uvloop.new_event_loop(), asyncio.create_subprocess_exec
    raise ValueError(f"unknown impl {impl!r}")


def _run(impl: str, body: Callable[[Any], Any]) -> float:
    setup = _setup(impl)
    if setup is None:
        return math.nan
    loop, create = setup
    try:
        asyncio.set_event_loop(loop)
        best: float = max(loop.run_until_complete(body(create)) for _ in range(3))
        return best
    finally:
        asyncio.set_event_loop(None)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def bench_spawn_wait(impl: str, n: int = 200) -> float:
    async def body(create: Any) -> float:
        start = time.perf_counter()
        for _ in range(n):
            proc = await create(TRUE)
            if await proc.wait() != 0:
                raise RuntimeError("`true` failed")
        return n / (time.perf_counter() - start)

    return _run(impl, body)


def bench_pipe_16mb(impl: str) -> float:
    size = PIPE_MB * 1024 * 1024

    async def body(create: Any) -> float:
        start = time.perf_counter()
        proc = await create(HEAD, "-c", str(size), "/dev/zero", stdout=asyncio.subprocess.PIPE)
        got = 0
        while chunk := await proc.stdout.read(1 << 20):
            got += len(chunk)
        await proc.wait()
        took = time.perf_counter() - start
        if got != size:
            raise RuntimeError(f"read {got} bytes, expected {size}")
        return PIPE_MB / took

    return _run(impl, body)


def benchmarks() -> list[tuple[str, Callable[[str], float]]]:
    """(name, run) pairs; run(impl) returns operations per second."""
    return [
        ("subprocess.spawn_wait", bench_spawn_wait),
        ("subprocess.pipe_16mb", bench_pipe_16mb),
    ]


def main() -> None:
    print_table("corolla.subprocess", benchmarks())


if __name__ == "__main__":
    main()
