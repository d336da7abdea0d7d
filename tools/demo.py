"""corolla doing real work, beside the stdlib event loop and uvloop.

1. which corolla packages are installed, and whether each is mypyc-compiled;
2. a task pipeline: producers and consumers around a bounded queue, with a
   semaphore and a task group (corolla's queues, sync and tasks packages),
   on each event loop;
3. child processes: ``cat`` children fed through stdin and read back
   through stdout with ``create_subprocess_exec`` and the streams (corolla's
   subprocess and streams packages on the corolla loop, asyncio's on the
   others), checked byte for byte;
4. an HTTP/1.1 keep-alive server (a plain asyncio Protocol, unchanged code)
   on each event loop, loaded by concurrent clients from a separate process
   over loopback; it reports requests per second and the server's CPU time
   per request.

Pieces that are not built yet are named and skipped. Run it with
`hatch run compiled:demo` (compiled wheels) or `hatch run demo` (editable).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import importlib.metadata
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

LOOPS = ("stdlib", "corolla", "uvloop")
MODULES = [
    ("corolla-futures-tasks", "corolla.futures"),
    ("corolla-futures-tasks", "corolla.tasks"),
    ("corolla-sync", "corolla.sync"),
    ("corolla-queues", "corolla.queues"),
    ("corolla-transports", "corolla.transports"),
    ("corolla-streams", "corolla.streams"),
    ("corolla-subprocess", "corolla.subprocess"),
    ("corolla-loop-core", "corolla.loop"),
    ("corolla-devtools", "corolla.devtools"),
    ("corolla", "corolla.asyncio"),
]


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop factory for a loop name, or None when it is not available."""
    if name == "stdlib":
        return asyncio.SelectorEventLoop
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            return None
        return uvloop.new_event_loop
    try:
        import corolla.loop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] | None = getattr(
        corolla.loop, "new_event_loop", None
    )
    return factory


def show_packages() -> None:
    print("== corolla packages")
    for dist, module_name in MODULES:
        try:
            version = importlib.metadata.version(dist)
            module = importlib.import_module(module_name)
        except (ImportError, importlib.metadata.PackageNotFoundError):
            print(f"  {module_name:20} not installed")
            continue
        names = [n for n in getattr(module, "__all__", []) if n != "COMPILED"]
        build = "compiled" if getattr(module, "COMPILED", False) else "pure Python"
        print(f"  {module_name:20} {dist} {version}, {build}, {len(names)} public names")


# -- 2. task pipeline -------------------------------------------------------


def pipeline_parts() -> tuple[Any, Any, Any] | str:
    try:
        from corolla.queues import Queue
        from corolla.sync import Semaphore
        from corolla.tasks import TaskGroup
    except ImportError as exc:
        return f"needs {exc.name or exc}"
    return Queue, Semaphore, TaskGroup


async def pipeline(items: int, producers: int, consumers: int) -> int:
    """Producers put numbers in a bounded queue; consumers add them up."""
    parts = pipeline_parts()
    assert not isinstance(parts, str)
    queue_cls, semaphore_cls, task_group_cls = parts
    queue = queue_cls(maxsize=64)
    gate = semaphore_cls(8)
    totals: list[int] = []

    async def produce(start: int) -> None:
        for i in range(start, items, producers):
            await queue.put(i)

    async def consume() -> None:
        total = 0
        while True:
            item = await queue.get()
            if item is None:
                break
            async with gate:
                total += item
        totals.append(total)

    async with task_group_cls() as outer:
        for _ in range(consumers):
            outer.create_task(consume())
        async with task_group_cls() as inner:
            for p in range(producers):
                inner.create_task(produce(p))
        for _ in range(consumers):
            await queue.put(None)
    return sum(totals)


def run_pipeline() -> None:
    print("\n== task pipeline: 200,000 items, 20 producers, 20 consumers, queue of 64")
    parts = pipeline_parts()
    if isinstance(parts, str):
        print(f"  skipped: {parts}")
        return
    items = 200_000
    expected = items * (items - 1) // 2
    base = math.nan
    for name in LOOPS:
        factory = loop_factory(name)
        if factory is None:
            print(f"  {name:8} not available")
            continue
        start = time.perf_counter()
        with asyncio.Runner(loop_factory=factory) as runner:
            total = runner.run(pipeline(items, 20, 20))
        elapsed = time.perf_counter() - start
        status = "ok" if total == expected else f"WRONG SUM {total}"
        rate = items / elapsed
        base = rate if name == "stdlib" else base
        print(f"  {name:8} {rate:12,.0f} items/s  ({rate / base:.2f}x stdlib)  sum {status}")


# -- 3. child processes -----------------------------------------------------


async def pipe_through_cat(
    create_subprocess_exec: Callable[..., Any], children: int, size: int
) -> tuple[int, int]:
    """Pipe ``size`` bytes through each of ``children`` concurrent ``cat``s.

    Returns (children whose output matched their input byte for byte, exit
    codes that were not 0).
    """
    chunk = bytes(range(256)) * 256  # 64 KiB

    async def one(seed: int) -> tuple[bool, int]:
        proc = await create_subprocess_exec("cat", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        head = seed.to_bytes(4, "big")

        async def feed() -> None:
            proc.stdin.write(head)
            for _ in range(size // len(chunk)):
                proc.stdin.write(chunk)
                await proc.stdin.drain()
            proc.stdin.close()
            await proc.stdin.wait_closed()

        async def check() -> bool:
            ok = await proc.stdout.readexactly(len(head)) == head
            for _ in range(size // len(chunk)):
                ok = ok and await proc.stdout.readexactly(len(chunk)) == chunk
            rest: bytes = await proc.stdout.read()
            return ok and rest == b""

        writer = asyncio.ensure_future(feed())
        ok = await check()
        await writer
        return ok, await proc.wait()

    results = await asyncio.gather(*(one(i) for i in range(children)))
    return sum(ok for ok, _ in results), sum(rc != 0 for _, rc in results)


def subprocess_function(name: str) -> Callable[..., Any] | None:
    if name != "corolla":
        return asyncio.create_subprocess_exec
    try:
        from corolla.subprocess import create_subprocess_exec
    except ImportError:
        return None
    return create_subprocess_exec


def run_subprocesses() -> None:
    children, size = 4, 32 << 20
    print(f"\n== child processes: {children} concurrent `cat`s, {size >> 20} MiB each in and out")
    base = math.nan
    for name in LOOPS:
        factory = loop_factory(name)
        function = subprocess_function(name)
        if factory is None or function is None:
            print(f"  {name:8} not available")
            continue
        start = time.perf_counter()
        with asyncio.Runner(loop_factory=factory) as runner:
            matched, failed = runner.run(pipe_through_cat(function, children, size))
        elapsed = time.perf_counter() - start
        rate = 2 * children * size / elapsed / (1 << 20)
        base = rate if name == "stdlib" else base
        status = (
            "all byte-exact"
            if matched == children and not failed
            else (f"ONLY {matched}/{children} byte-exact, {failed} bad exit codes")
        )
        print(f"  {name:8} {rate:8,.0f} MiB/s through pipes ({rate / base:.2f}x stdlib), {status}")


# -- 4. HTTP server ---------------------------------------------------------

BODY = b"hello from corolla\n"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class HttpProtocol(asyncio.Protocol):
    """A tiny keep-alive HTTP/1.1 server: GET only, no bodies; '/stats' reports CPU."""

    def __init__(self, stats: dict[str, float]) -> None:
        self.stats = stats
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport: no isinstance here.
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            request, self.buffer = self.buffer[: end + 4], self.buffer[end + 4 :]
            if request.startswith(b"GET /stats "):
                cpu = time.process_time() - self.stats["cpu_start"]
                body = f"{self.stats['requests']:.0f} {cpu:.6f}\n".encode()
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                self.transport.write(head + body)
                continue
            if self.stats["requests"] == 0:
                self.stats["cpu_start"] = time.process_time()
            self.stats["requests"] += 1
            self.transport.write(RESPONSE)


SERVERS = ("stdlib", "corolla", "uvloop", "stdlib+transports")


async def _loop_create_server(
    loop: asyncio.AbstractEventLoop, *args: Any, **kwargs: Any
) -> asyncio.AbstractServer:
    return await loop.create_server(*args, **kwargs)


def create_server_function(name: str) -> Callable[..., Any] | None:
    """How the server variant NAME creates its server, or None when unavailable.

    "stdlib+transports" is corolla's transports package on the stdlib loop.
    """
    if name != "stdlib+transports":
        if loop_factory(name) is None:
            return None
        return _loop_create_server
    try:
        import corolla.transports
    except ImportError:
        return None
    create: Callable[..., Any] | None = getattr(corolla.transports, "create_server", None)
    return create


async def serve(variant: str, port_file: str) -> None:
    loop = asyncio.get_running_loop()
    stats = {"requests": 0.0, "cpu_start": time.process_time()}
    create = create_server_function(variant)
    assert create is not None
    server = await create(loop, lambda: HttpProtocol(stats), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.replace(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


class ClientProtocol(asyncio.Protocol):
    def __init__(self, requests: int, done: asyncio.Future[int]) -> None:
        self.left = requests
        self.done = done
        self.ok = 0
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport: no isinstance here.
        self.transport = transport  # type: ignore[assignment]
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        self.left -= 1
        self.transport.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= len(RESPONSE):
            if not self.buffer.startswith(RESPONSE):
                self.done.set_exception(RuntimeError(f"bad response {self.buffer[:60]!r}"))
                return
            self.buffer = self.buffer[len(RESPONSE) :]
            self.ok += 1
            if self.left:
                self.send()
            elif not self.done.done():
                self.done.set_result(self.ok)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("server closed the connection"))


async def load(port: int, connections: int, requests: int) -> tuple[int, float, str]:
    loop = asyncio.get_running_loop()
    dones: list[asyncio.Future[int]] = []
    transports = []
    start = time.perf_counter()
    for _ in range(connections):
        done: asyncio.Future[int] = loop.create_future()
        dones.append(done)
        transport, _ = await loop.create_connection(
            functools.partial(ClientProtocol, requests, done), "127.0.0.1", port
        )
        transports.append(transport)
    ok = sum(await asyncio.gather(*dones))
    elapsed = time.perf_counter() - start
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /stats HTTP/1.1\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    stats = (await reader.readline()).decode().strip()
    writer.close()
    for t in transports:
        t.close()
    return ok, elapsed, stats


def run_http(connections: int, requests: int) -> None:
    total = connections * requests
    print(f"\n== HTTP server: {connections} keep-alive clients x {requests} requests, loopback")
    client = "uvloop" if loop_factory("uvloop") else "stdlib"
    print(f"   (clients: this process, {client} loop; each server in its own process)")
    base = math.nan
    for name in SERVERS:
        if create_server_function(name) is None:
            print(f"  {name:17} not available")
            continue
        port_file = f"/tmp/corolla-demo-{os.getpid()}-{name}.port"
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", name, port_file],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not os.path.exists(port_file):
                if server.poll() is not None or time.monotonic() > deadline:
                    err = (server.stderr.read() if server.stderr else "").strip()
                    last = err.splitlines()[-1] if err else "no output"
                    print(f"  {name:17} server did not start: {last}")
                    break
                time.sleep(0.05)
            else:
                with open(port_file) as f:
                    port = int(f.read())
                with asyncio.Runner(loop_factory=loop_factory(client)) as runner:
                    ok, elapsed, stats = runner.run(load(port, connections, requests))
                served, cpu = stats.split()
                rate = ok / elapsed
                base = rate if name == "stdlib" else base
                per_request = float(cpu) / float(served) * 1e6
                status = "all ok" if ok == total else f"ONLY {ok}/{total} ok"
                print(
                    f"  {name:17} {rate:10,.0f} req/s ({rate / base:.2f}x stdlib), "
                    f"server CPU {per_request:5.1f} us/request, {status}"
                )
        finally:
            server.terminate()
            server.wait()
            if os.path.exists(port_file):
                os.unlink(port_file)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", nargs=2, metavar=("LOOP", "PORT_FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    if args.serve:
        variant, port_file = args.serve
        factory = loop_factory(variant.split("+")[0])
        assert factory is not None
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(serve(variant, port_file))
        return 0
    show_packages()
    run_pipeline()
    run_subprocesses()
    run_http(args.connections, args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
