"""Transport benchmarks: TCP echo servers, the client in a separate process.

The impl picks the event loop the server runs on; "corolla" runs
corolla.transports' servers (on corolla's loop when it can run, else on the
stdlib loop), "stdlib" and "uvloop" use their loop's own create_server.

- tcp_echo_<proto>_<size>_c<n>: Protocol ("proto") or BufferedProtocol
  ("buffered") echo server; a client process keeps <n> connections busy with
  <size>-byte request/response pairs. Returns requests per wall-clock second.
- ..._cpu: the same run, reported as requests per second of *server* CPU time
  (time.process_time in the server process): 1e6 / that = server CPU
  microseconds per request, the steadier figure on a shared machine.

Run alone: python tools/bench/bench_transports.py  (table with ratios and server CPU us/request)
"""

from __future__ import annotations

import asyncio
import math
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

IMPLS = ("stdlib", "corolla", "uvloop")
SIZES = {"1k": 1024, "10k": 10 * 1024, "100k": 100 * 1024}
REQUESTS = {"1k": 20_000, "10k": 10_000, "100k": 2_000}
ROUNDS = 3


# -- the client process ---------------------------------------------------------


def client_main(port: int, size: int, concurrency: int, requests: int, rounds: int) -> None:
    """Keep `concurrency` connections busy; print START/END markers around each round."""
    message = os.urandom(size)
    conns = []
    for _ in range(concurrency):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conns.append(s)
    buf = bytearray(max(size, 65536))
    sel = selectors.DefaultSelector()
    for s in conns:
        sel.register(s, selectors.EVENT_READ)
    out = sys.stdout
    for round_ in range(rounds + 1):  # round 0 warms up
        n = requests if round_ else max(requests // 10, concurrency)
        out.write("START\n")
        out.flush()
        start = time.perf_counter()
        sent = 0
        done = 0
        remaining: dict[socket.socket, int] = {}
        for s in conns:
            if sent < n:
                s.sendall(message)
                sent += 1
                remaining[s] = size
        while done < n:
            for key, _ in sel.select():
                s = key.fileobj  # type: ignore[assignment]
                got = s.recv_into(buf)
                if not got:
                    raise SystemExit("server closed the connection")
                remaining[s] -= got
                if remaining[s] == 0:
                    done += 1
                    if sent < n:
                        s.sendall(message)
                        sent += 1
                        remaining[s] = size
        elapsed = time.perf_counter() - start
        out.write(f"END {n} {elapsed!r}\n")
        out.flush()
    for s in conns:
        s.close()


# -- servers ----------------------------------------------------------------------


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class EchoBufferedProtocol(asyncio.BufferedProtocol):
    def __init__(self) -> None:
        self.buf = bytearray(256 * 1024)
        self.view = memoryview(self.buf)

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        self.transport.write(self.buf[:nbytes])


def _corolla_loop() -> asyncio.AbstractEventLoop | None:
    try:
        import corolla.loop as corolla_loop
    except ImportError:
        return None
    factory = getattr(corolla_loop, "new_event_loop", None)
    if factory is None:
        return None
    loop: asyncio.AbstractEventLoop = factory()

    async def noop() -> None:
        pass

    coro = noop()
    try:
        loop.run_until_complete(coro)
    except Exception:
        coro.close()
        loop.close()
        return None
    return loop


def _server_loop(impl: str) -> tuple[asyncio.AbstractEventLoop, Callable[..., Any]] | None:
    """The loop and the create_server to use for impl (None: not available)."""
    if impl == "stdlib":
        loop = asyncio.new_event_loop()
        return loop, loop.create_server
    if impl == "uvloop":
        try:
            import uvloop
        except ImportError:
            return None
        loop = uvloop.new_event_loop()
        return loop, loop.create_server
    if impl == "corolla":
        try:
            import corolla.transports as ct
        except ImportError:
            return None
        loop_or_none = _corolla_loop()
        loop = asyncio.new_event_loop() if loop_or_none is None else loop_or_none
        return loop, lambda *a, **k: ct.create_server(loop, *a, **k)
    raise ValueError(f"unknown impl {impl!r}")


def measure_echo(
    impl: str, protocol: str, size_name: str, concurrency: int
) -> list[tuple[float, float]]:
    """Run the client against a server of impl; [(requests/s, server cpu s/request)] per round."""
    chosen = _server_loop(impl)
    if chosen is None:
        return []
    loop, create_server = chosen
    factory = EchoProtocol if protocol == "proto" else EchoBufferedProtocol
    server = loop.run_until_complete(create_server(factory, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    results: list[tuple[float, float]] = []
    try:
        client = subprocess.Popen(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--client",
                str(port),
                str(SIZES[size_name]),
                str(concurrency),
                str(REQUESTS[size_name]),
                str(ROUNDS),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert client.stdout is not None
        cpu_start = 0.0
        first = True
        for line in client.stdout:
            if line.startswith("START"):
                cpu_start = time.process_time()
            elif line.startswith("END"):
                cpu = time.process_time() - cpu_start
                _, n, elapsed = line.split()
                if not first:
                    results.append((int(n) / float(elapsed), cpu / int(n)))
                first = False
        if client.wait() != 0:
            raise RuntimeError("benchmark client failed")
    finally:

        async def shutdown() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
    return results


def _bench(protocol: str, size_name: str, concurrency: int, cpu: bool) -> Callable[[str], float]:
    def run(impl: str) -> float:
        results = measure_echo(impl, protocol, size_name, concurrency)
        if not results:
            return math.nan
        if cpu:
            return max(1.0 / c for _, c in results)
        return max(r for r, _ in results)

    return run


def benchmarks() -> list[tuple[str, Callable[[str], float]]]:
    found: list[tuple[str, Callable[[str], float]]] = []
    for protocol in ("proto", "buffered"):
        for size_name in SIZES:
            for concurrency in (1, 10):
                name = f"tcp_echo_{protocol}_{size_name}_c{concurrency}"
                found.append((name, _bench(protocol, size_name, concurrency, False)))
                found.append((f"{name}_cpu", _bench(protocol, size_name, concurrency, True)))
    return found


def main() -> None:
    only = sys.argv[1:]
    try:
        import corolla.transports as ct

        compiled = ct.COMPILED
    except ImportError:
        compiled = False
    corolla_loop = _corolla_loop()
    where = "corolla loop" if corolla_loop is not None else "stdlib loop"
    if corolla_loop is not None:
        corolla_loop.close()
    print(f"corolla.transports compiled: {compiled}; corolla impl runs on the {where}")
    header = f"{'benchmark':<28}" + "".join(f"{i + ' req/s':>15}{'cpu us':>8}" for i in IMPLS)
    print(header + f"{'c/stdlib':>10}{'c/uvloop':>10}{'cpu s/c':>9}")
    for protocol in ("proto", "buffered"):
        for size_name in SIZES:
            for concurrency in (1, 10):
                name = f"tcp_echo_{protocol}_{size_name}_c{concurrency}"
                if only and not any(o in name for o in only):
                    continue
                row: dict[str, tuple[float, float]] = {}
                for impl in IMPLS:
                    results = measure_echo(impl, protocol, size_name, concurrency)
                    if results:
                        row[impl] = (max(r for r, _ in results), min(c for _, c in results))
                    else:
                        row[impl] = (math.nan, math.nan)
                line = f"{name:<28}"
                for impl in IMPLS:
                    rate, cpu = row[impl]
                    line += f"{rate:>15.0f}{cpu * 1e6:>8.1f}"
                c, s, u = row["corolla"], row["stdlib"], row["uvloop"]
                line += f"{c[0] / s[0]:>10.2f}{c[0] / u[0]:>10.2f}{s[1] / c[1]:>9.2f}"
                print(line, flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(*(int(a) for a in sys.argv[2:7]))
    else:
        main()
