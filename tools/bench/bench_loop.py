"""Event loop benchmarks: the impl picks the loop (stdlib, corolla or uvloop).

- call_soon: a callback that reschedules itself with call_soon, N times;
- call_later_cancel: schedule N timers with call_later, cancel most, let the loop run;
- sock_echo: ping-pong of 64-byte messages over a socketpair with sock_sendall/sock_recv;
- create_future_await: a task awaits ``loop.create_future()``, resolved by call_soon, N times;
- create_task_await: a task awaits ``asyncio.create_task()`` of a trivial coroutine, N times.

The last two are the loop's futures and tasks as asyncio code gets them: the
stdlib and uvloop loops make the stdlib's C Future/Task, corolla's loop
makes corolla's.

Run alone: python tools/bench/bench_loop.py  (prints ops/s and corolla/stdlib ratios)
"""

from __future__ import annotations

import asyncio
import math
import socket
import time
from collections.abc import Callable
from typing import Any

from _table import print_table


def _new_loop(impl: str) -> asyncio.AbstractEventLoop | None:
    if impl == "stdlib":
        return asyncio.new_event_loop()
    if impl == "corolla":
        try:
            import corolla.loop
        except ImportError:
            return None
        return corolla.loop.new_event_loop()
    if impl == "uvloop":
        try:
            import uvloop
        except ImportError:
            return None
        return uvloop.new_event_loop()
    raise ValueError(f"unknown impl {impl!r}")


def _best_of(runs: int, measure: Callable[[], float]) -> float:
    return max(measure() for _ in range(runs))


def bench_call_soon(impl: str, n: int = 200_000) -> float:
    loop = _new_loop(impl)
    if loop is None:
        return math.nan
    try:

        def measure() -> float:
            remaining = [n]

            def step() -> None:
                remaining[0] -= 1
                if remaining[0]:
                    loop.call_soon(step)
                else:
                    loop.stop()

            loop.call_soon(step)
            start = time.perf_counter()
            loop.run_forever()
            return n / (time.perf_counter() - start)

        return _best_of(3, measure)
    finally:
        loop.close()


def bench_call_soon_batch(impl: str, n: int = 200_000) -> float:
    loop = _new_loop(impl)
    if loop is None:
        return math.nan
    try:
        sink: list[int] = []

        def measure() -> float:
            sink.clear()
            start = time.perf_counter()
            for i in range(n):
                loop.call_soon(sink.append, i)
            loop.call_soon(loop.stop)
            loop.run_forever()
            return n / (time.perf_counter() - start)

        return _best_of(3, measure)
    finally:
        loop.close()


def bench_call_later_cancel(impl: str, n: int = 100_000) -> float:
    loop = _new_loop(impl)
    if loop is None:
        return math.nan
    try:

        def measure() -> float:
            fired = [0]

            def fire() -> None:
                fired[0] += 1

            start = time.perf_counter()
            for i in range(n):
                handle = loop.call_later(0.001 * (i % 50), fire)
                if i % 10:
                    handle.cancel()
            loop.call_later(0.06, loop.stop)
            loop.run_forever()
            return n / (time.perf_counter() - start)

        return _best_of(3, measure)
    finally:
        loop.close()


def bench_sock_echo(impl: str, n: int = 20_000) -> float:
    loop = _new_loop(impl)
    if loop is None:
        return math.nan
    payload = b"x" * 64

    async def server(sock: socket.socket) -> None:
        while True:
            data = await loop.sock_recv(sock, 65536)
            if not data:
                return
            await loop.sock_sendall(sock, data)

    async def client(sock: socket.socket) -> None:
        for _ in range(n):
            await loop.sock_sendall(sock, payload)
            got = 0
            while got < len(payload):
                got += len(await loop.sock_recv(sock, 65536))

    async def main() -> float:
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        try:
            serving = asyncio.ensure_future(server(b))
            start = time.perf_counter()
            await client(a)
            took = time.perf_counter() - start
            a.shutdown(socket.SHUT_WR)
            await serving
            return n / took
        finally:
            a.close()
            b.close()

    try:
        return _best_of(3, lambda: loop.run_until_complete(main()))
    finally:
        loop.close()


def _run_task_body(impl: str, n: int, body: Callable[[asyncio.AbstractEventLoop], Any]) -> float:
    loop = _new_loop(impl)
    if loop is None:
        return math.nan
    try:

        def measure() -> float:
            start = time.perf_counter()
            loop.run_until_complete(body(loop))
            return n / (time.perf_counter() - start)

        return _best_of(3, measure)
    finally:
        loop.close()


def bench_create_future_await(impl: str, n: int = 100_000) -> float:
    async def body(loop: asyncio.AbstractEventLoop) -> None:
        create_future = loop.create_future
        call_soon = loop.call_soon
        for _ in range(n):
            fut = create_future()
            call_soon(fut.set_result, None)
            await fut

    return _run_task_body(impl, n, body)


async def _trivial() -> None:
    pass


def bench_create_task_await(impl: str, n: int = 100_000) -> float:
    async def body(loop: asyncio.AbstractEventLoop) -> None:
        create_task = asyncio.create_task
        for _ in range(n):
            await create_task(_trivial())

    return _run_task_body(impl, n, body)


def benchmarks() -> list[tuple[str, Callable[[str], float]]]:
    """(name, run) pairs; run(impl) returns operations per second."""
    return [
        ("loop.call_soon", bench_call_soon),
        ("loop.call_soon_batch", bench_call_soon_batch),
        ("loop.call_later_cancel", bench_call_later_cancel),
        ("loop.sock_echo", bench_sock_echo),
        ("loop.create_future_await", bench_create_future_await),
        ("loop.create_task_await", bench_create_task_await),
    ]


def main() -> None:
    print_table("corolla.loop", benchmarks())


if __name__ == "__main__":
    main()
