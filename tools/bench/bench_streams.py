"""corolla.streams benchmarks: the impl picks the stream classes, all on the stdlib loop.

"stdlib" is asyncio's streams, "corolla" is corolla.streams, both on asyncio's
own loop; "uvloop" is asyncio's streams on the uvloop loop (to show what the
loop alone changes).

- readline_loopback: a server writes 200,000 64-byte lines over loopback TCP
  (in 64 KiB writes, with drain); the client reads them with readline()
  (ops = lines per second);
- echo_64k: the client writes 64 KiB and drains, the server echoes what it
  reads (read/write/drain), the client readexactly()s it back
  (ops = round trips per second);
- echo_small: 100-byte request/response ping-pong with readexactly()
  (ops = round trips per second);
- readline_fed: no socket, StreamReader alone: feed_data() a 64 KiB chunk of
  lines, readline() every line (ops = lines per second).

Run alone: python tools/bench/bench_streams.py  (prints ops/s and corolla/stdlib ratios)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _classes import Body, measure, print_table

LINE = b"x" * 63 + b"\n"


def _measure(impl: str, ops: int, body: Body) -> float:
    return measure("corolla.streams", impl, ops, body)


async def _serve(m: Any, handler: Any) -> tuple[Any, Any, Any]:
    server = await m.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await m.open_connection("127.0.0.1", port)
    return server, reader, writer


async def _finish(server: Any, writer: Any) -> None:
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


def bench_readline_loopback(impl: str, n: int = 200_000) -> float:
    chunk = LINE * 1024

    async def body(m: Any) -> None:
        async def handler(reader: Any, writer: Any) -> None:
            for _ in range(n // 1024):
                writer.write(chunk)
                await writer.drain()
            writer.close()

        server, reader, writer = await _serve(m, handler)
        count = 0
        while await reader.readline():
            count += 1
        assert count == n // 1024 * 1024
        await _finish(server, writer)

    return _measure(impl, n, body)


async def _echo(reader: Any, writer: Any) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


def _ping_pong(impl: str, n: int, size: int) -> float:
    payload = b"p" * size

    async def body(m: Any) -> None:
        server, reader, writer = await _serve(m, _echo)
        for _ in range(n):
            writer.write(payload)
            await writer.drain()
            await reader.readexactly(size)
        await _finish(server, writer)

    return _measure(impl, n, body)


def bench_echo_64k(impl: str, n: int = 3_000) -> float:
    return _ping_pong(impl, n, 65536)


def bench_echo_small(impl: str, n: int = 20_000) -> float:
    return _ping_pong(impl, n, 100)


def bench_readline_fed(impl: str, n: int = 500_000) -> float:
    chunk = LINE * 1024

    async def body(m: Any) -> None:
        reader = m.StreamReader()
        for _ in range(n // 1024):
            reader.feed_data(chunk)
            for _ in range(1024):
                await reader.readline()

    return _measure(impl, n // 1024 * 1024, body)


def benchmarks() -> list[tuple[str, Callable[[str], float]]]:
    return [
        ("readline_loopback", bench_readline_loopback),
        ("echo_64k", bench_echo_64k),
        ("echo_small", bench_echo_small),
        ("readline_fed", bench_readline_fed),
    ]


def main() -> None:
    print_table("corolla.streams", benchmarks())


if __name__ == "__main__":
    main()
