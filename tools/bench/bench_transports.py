"""Transport benchmarks: TCP echo servers, the client in a separate process.

The impl picks the event loop the server runs on; "corolla" runs
corolla.transports' servers (on corolla's loop when it can run, else on the
stdlib loop), "stdlib" and "uvloop" use their loop's own create_server.

- tcp_echo_<proto>_<size>_c<n>: Protocol ("proto") or BufferedProtocol
  ("buffered") echo server; a client process keeps <n> connections busy with
  <size>-byte request/response pairs. Returns requests per wall-clock second.
- tls_echo_proto_1k_c<n>: the Protocol echo over TLS (certificate made with trustme).
- udp_pingpong_1k_c<n>: datagram echo, <n> connected UDP sockets in the client.
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
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

IMPLS = ("stdlib", "corolla", "uvloop")
SIZES = {"1k": 1024, "10k": 10 * 1024, "100k": 100 * 1024}
REQUESTS = {"1k": 20_000, "10k": 10_000, "100k": 2_000}
ROUNDS = 3


# -- the client process ---------------------------------------------------------


def client_main(
    mode: str, port: int, size: int, concurrency: int, requests: int, rounds: int, cafile: str
) -> None:
    """Keep `concurrency` connections busy; print START/END markers around each round."""
    message = os.urandom(size)
    conns: list[socket.socket] = []
    context = None
    if mode == "tls":
        context = ssl.create_default_context(cafile=cafile)
    for _ in range(concurrency):
        if mode == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect(("127.0.0.1", port))
        else:
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if context is not None:
                s = context.wrap_socket(s, server_hostname="localhost")
        s.setblocking(False)
        conns.append(s)
    buf = bytearray(max(size, 65536))
    sel = selectors.DefaultSelector()
    for s in conns:
        sel.register(s, selectors.EVENT_READ)
    out = sys.stdout

    def send(s: socket.socket) -> None:
        view = memoryview(message)
        while view:
            try:
                view = view[s.send(view) :]
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                selectors.DefaultSelector().select(0.001)

    def receive(s: socket.socket) -> int:
        got = 0
        while True:
            try:
                n = s.recv_into(buf)
            except (BlockingIOError, ssl.SSLWantReadError):
                return got
            if not n:
                raise SystemExit("server closed the connection")
            got += n
            if mode != "tls":
                return got

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
                send(s)
                sent += 1
                remaining[s] = size
        while done < n:
            events = sel.select(10)
            if not events:
                raise SystemExit("no answer for 10 s (lost datagram?)")
            for key, _ in events:
                s = key.fileobj  # type: ignore[assignment]
                remaining[s] -= receive(s)
                if remaining[s] <= 0:
                    done += 1
                    if sent < n:
                        send(s)
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


class EchoDatagram(asyncio.DatagramProtocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


class _CorollaAPI:
    """corolla.transports' functions bound to a loop, shaped like the loop's methods."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    async def create_server(self, *args: Any, **kwargs: Any) -> Any:
        import corolla.transports as ct

        return await ct.create_server(self.loop, *args, **kwargs)

    async def create_datagram_endpoint(self, *args: Any, **kwargs: Any) -> Any:
        import corolla.transports as ct

        return await ct.create_datagram_endpoint(self.loop, *args, **kwargs)


def _tls_material(tmp: str) -> tuple[ssl.SSLContext, str]:
    """A server context with a certificate for localhost, and the CA file for the client."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    cafile = os.path.join(tmp, "ca.pem")
    ca.cert_pem.write_to_path(cafile)
    return ctx, cafile


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


def _server_loop(impl: str) -> tuple[asyncio.AbstractEventLoop, Any] | None:
    """The loop, and the object whose create_server/create_datagram_endpoint to use."""
    if impl == "stdlib":
        loop = asyncio.new_event_loop()
        return loop, loop
    if impl == "uvloop":
        try:
            import uvloop
        except ImportError:
            return None
        loop = uvloop.new_event_loop()
        return loop, loop
    if impl == "corolla":
        try:
            import corolla.transports as ct
        except ImportError:
            return None
        loop_or_none = _corolla_loop()
        loop = asyncio.new_event_loop() if loop_or_none is None else loop_or_none
        del ct
        return loop, _CorollaAPI(loop)
    raise ValueError(f"unknown impl {impl!r}")


def measure_echo(
    impl: str, mode: str, size_name: str, concurrency: int
) -> list[tuple[float, float]]:
    """Run the client against a server of impl; [(requests/s, server cpu s/request)] per round.

    mode: "proto" (Protocol echo), "buffered" (BufferedProtocol echo), "tls"
    (Protocol echo over TLS) or "udp" (datagram echo).
    """
    chosen = _server_loop(impl)
    if chosen is None:
        return []
    loop, api = chosen
    tmp = tempfile.mkdtemp(prefix="corolla-bench-")
    cafile = ""
    endpoint: Any = None
    if mode == "udp":
        endpoint, _ = loop.run_until_complete(
            api.create_datagram_endpoint(EchoDatagram, local_addr=("127.0.0.1", 0))
        )
        port = endpoint.get_extra_info("sockname")[1]
    else:
        kwargs: dict[str, Any] = {}
        if mode == "tls":
            kwargs["ssl"], cafile = _tls_material(tmp)
        factory = EchoBufferedProtocol if mode == "buffered" else EchoProtocol
        endpoint = loop.run_until_complete(api.create_server(factory, "127.0.0.1", 0, **kwargs))
        port = endpoint.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    results: list[tuple[float, float]] = []
    try:
        args = [mode, port, SIZES[size_name], concurrency, REQUESTS[size_name], ROUNDS, cafile]
        client = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--client", *map(str, args)],
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
            endpoint.close()
            if mode != "udp":
                await endpoint.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        if cafile:
            os.unlink(cafile)
        os.rmdir(tmp)
    return results


def _bench(mode: str, size_name: str, concurrency: int, cpu: bool) -> Callable[[str], float]:
    def run(impl: str) -> float:
        results = measure_echo(impl, mode, size_name, concurrency)
        if not results:
            return math.nan
        if cpu:
            return max(1.0 / c for _, c in results)
        return max(r for r, _ in results)

    return run


def _cases() -> list[tuple[str, str, str, int]]:
    """(name, mode, size, concurrency) of every benchmark."""
    cases = []
    for mode in ("proto", "buffered"):
        for size_name in SIZES:
            for concurrency in (1, 10):
                cases.append(
                    (f"tcp_echo_{mode}_{size_name}_c{concurrency}", mode, size_name, concurrency)
                )
    for concurrency in (1, 10):
        cases.append((f"tls_echo_proto_1k_c{concurrency}", "tls", "1k", concurrency))
        cases.append((f"udp_pingpong_1k_c{concurrency}", "udp", "1k", concurrency))
    return cases


def benchmarks() -> list[tuple[str, Callable[[str], float]]]:
    found: list[tuple[str, Callable[[str], float]]] = []
    for name, mode, size_name, concurrency in _cases():
        found.append((name, _bench(mode, size_name, concurrency, False)))
        found.append((f"{name}_cpu", _bench(mode, size_name, concurrency, True)))
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
    for name, mode, size_name, concurrency in _cases():
        if only and not any(o in name for o in only):
            continue
        row: dict[str, tuple[float, float]] = {}
        for impl in IMPLS:
            results = measure_echo(impl, mode, size_name, concurrency)
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
        mode, *numbers, cafile = sys.argv[2:9]
        port, size, concurrency, requests, rounds = (int(a) for a in numbers)
        client_main(mode, port, size, concurrency, requests, rounds, cafile)
    else:
        main()
