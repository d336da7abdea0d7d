"""Real third-party asyncio libraries, unchanged, on the corolla loop.

aiohttp (its server and its client), uvicorn serving a Starlette app (with
both of its HTTP parsers) to httpx and websockets clients: plain HTTP, large
bodies, streamed responses, WebSockets, TLS with a certificate made here,
many requests at once, a client timeout; anyio's task groups, cancel
scopes, TCP streams, worker threads and child processes. Everything runs on 127.0.0.1, on
the ``runner`` fixture's corolla loop, which fails the test if a file
descriptor leaked.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trustme

import corolla.loop

aiohttp = pytest.importorskip("aiohttp")
web = pytest.importorskip("aiohttp.web")

RELEASE = web.AppKey("release", asyncio.Event)
PAYLOAD = os.urandom(3 * 1024 * 1024 + 17)
CHUNKS = 64


def _tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


def _aiohttp_app() -> Any:
    async def hello(request: Any) -> Any:
        assert isinstance(asyncio.get_running_loop(), corolla.loop.EventLoop)
        return web.Response(text=f"hello {request.match_info['name']}")

    async def tls(request: Any) -> Any:
        ssl_object = request.transport.get_extra_info("ssl_object")
        return web.Response(text=f"{request.scheme} {ssl_object.version()}")

    async def digest(request: Any) -> Any:
        body = await request.read()
        return web.json_response({"size": len(body), "sha256": hashlib.sha256(body).hexdigest()})

    async def stream(request: Any) -> Any:
        response = web.StreamResponse()
        await response.prepare(request)
        for i in range(CHUNKS):
            await response.write(bytes([i]) * 4096)
        await response.write_eof()
        return response

    async def slow(request: Any) -> Any:
        # Answers only once the test lets it, after the client gave up.
        await request.app[RELEASE].wait()
        return web.Response(text="too late")

    async def upper(request: Any) -> Any:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(message.data.upper())
            elif message.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(message.data[::-1])
        return ws

    app = web.Application(client_max_size=len(PAYLOAD) + 1)
    app[RELEASE] = asyncio.Event()
    app.router.add_get("/hello/{name}", hello)
    app.router.add_get("/tls", tls)
    app.router.add_post("/digest", digest)
    app.router.add_get("/stream", stream)
    app.router.add_get("/slow", slow)
    app.router.add_get("/ws", upper)
    return app


def test_aiohttp_server_and_client(runner: corolla.loop.Runner) -> None:
    server_ctx, client_ctx = _tls_contexts()

    async def main() -> None:
        app_runner = web.AppRunner(_aiohttp_app())
        await app_runner.setup()
        plain = web.TCPSite(app_runner, "127.0.0.1", 0)
        tls = web.TCPSite(app_runner, "localhost", 0, ssl_context=server_ctx)
        await plain.start()
        await tls.start()
        try:
            port = app_runner.addresses[0][1]
            tls_port = app_runner.addresses[-1][1]
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{base}/hello/corolla") as response:
                    assert response.status == 200
                    assert await response.text() == "hello corolla"

                async with session.post(f"{base}/digest", data=PAYLOAD) as response:
                    assert await response.json() == {
                        "size": len(PAYLOAD),
                        "sha256": hashlib.sha256(PAYLOAD).hexdigest(),
                    }

                async with session.get(f"{base}/stream") as response:
                    body = await response.read()
                assert body == b"".join(bytes([i]) * 4096 for i in range(CHUNKS))

                async def fetch(i: int) -> str:
                    async with session.get(f"{base}/hello/{i}") as response:
                        text: str = await response.text()
                        return text

                texts = await asyncio.gather(*(fetch(i) for i in range(150)))
                assert texts == [f"hello {i}" for i in range(150)]

                async with session.ws_connect(f"{base}/ws") as ws:
                    await ws.send_str("over a websocket")
                    assert (await ws.receive()).data == "OVER A WEBSOCKET"
                    await ws.send_bytes(b"\x01\x02\x03")
                    assert (await ws.receive()).data == b"\x03\x02\x01"

                url = f"https://localhost:{tls_port}/tls"
                async with session.get(url, ssl=client_ctx) as response:
                    assert (await response.text()).startswith("https TLSv1.")

                # The client gives up: aiohttp's timeout (asyncio.timeout inside)
                # cancels its request on corolla's loop.
                with pytest.raises(asyncio.TimeoutError):
                    timeout = aiohttp.ClientTimeout(total=0.2)
                    async with session.get(f"{base}/slow", timeout=timeout) as response:
                        await response.read()
                app_runner.app[RELEASE].set()
        finally:
            await app_runner.cleanup()

    runner.run(main())


def _starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def hello(request: Request) -> PlainTextResponse:
        assert isinstance(asyncio.get_running_loop(), corolla.loop.EventLoop)
        return PlainTextResponse(f"hello {request.path_params['name']}")

    async def digest(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"size": len(body), "sha256": hashlib.sha256(body).hexdigest()})

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(CHUNKS):
            yield bytes([i]) * 4096

    async def stream(request: Request) -> StreamingResponse:
        return StreamingResponse(chunks())

    async def reverse(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text((await websocket.receive_text())[::-1])
        except WebSocketDisconnect:
            pass

    return Starlette(
        routes=[
            Route("/hello/{name}", hello),
            Route("/digest", digest, methods=["POST"]),
            Route("/stream", stream),
            WebSocketRoute("/ws", reverse),
        ]
    )


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_uvicorn_starlette_with_httpx_and_websockets(
    runner: corolla.loop.Runner, http: str
) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    httpx = pytest.importorskip("httpx")
    pytest.importorskip(http)
    ws_client = pytest.importorskip("websockets.asyncio.client")

    async def main() -> None:
        # Listening before uvicorn starts: the clients' connections wait in the
        # backlog until it accepts them, so nothing polls for "started".
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            _starlette_app(), http=http, ws="websockets-sansio", log_level="warning"
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                response = await client.get("/hello/uvicorn")
                assert (response.status_code, response.text) == (200, "hello uvicorn")

                response = await client.post("/digest", content=PAYLOAD)
                assert response.json() == {
                    "size": len(PAYLOAD),
                    "sha256": hashlib.sha256(PAYLOAD).hexdigest(),
                }

                async with client.stream("GET", "/stream") as streamed:
                    parts = [part async for part in streamed.aiter_bytes()]
                assert b"".join(parts) == b"".join(bytes([i]) * 4096 for i in range(CHUNKS))

                responses = await asyncio.gather(*(client.get(f"/hello/{i}") for i in range(100)))
                assert [r.text for r in responses] == [f"hello {i}" for i in range(100)]

            async with ws_client.connect(f"ws://127.0.0.1:{port}/ws") as ws:
                await ws.send("corolla")
                assert await ws.recv() == "alloroc"
        finally:
            server.should_exit = True
            await serving
            sock.close()

    runner.run(main())


def test_anyio_on_corolla(runner: corolla.loop.Runner) -> None:
    anyio = pytest.importorskip("anyio")
    socket_attribute = pytest.importorskip("anyio.abc").SocketAttribute

    async def main() -> None:
        finished: list[int] = []

        async def worker(i: int) -> None:
            await anyio.sleep(0)
            finished.append(i)

        async with anyio.create_task_group() as group:
            for i in range(20):
                group.start_soon(worker, i)
        assert sorted(finished) == list(range(20))

        # A cancel scope's deadline cancels what runs inside it, and only that.
        with anyio.move_on_after(0.05) as scope:
            await anyio.Event().wait()
        assert scope.cancelled_caught

        async def echo(stream: Any) -> None:
            async with stream:
                await stream.send(await stream.receive())

        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        async with listener, anyio.create_task_group() as group:
            group.start_soon(listener.serve, echo)
            port = listener.extra(socket_attribute.local_port)
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                await client.send(b"through anyio")
                assert await client.receive() == b"through anyio"
            group.cancel_scope.cancel()

        assert await anyio.to_thread.run_sync(sum, [40, 2]) == 42
        process = await anyio.run_process(["cat"], input=b"to a child and back")
        assert process.stdout == b"to a child and back"

    runner.run(main())
