"""Streams over real loopback TCP and Unix sockets, on every loop."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import socket
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from corolla.streams import (
    StreamReader,
    StreamReaderProtocol,
    StreamWriter,
    open_connection,
    open_unix_connection,
    start_server,
    start_unix_server,
)

Runner = Any  # the `run` fixture from conftest.py


async def until(condition: Any) -> None:
    """Wait (polling the loop) until ``condition()`` holds; the run's timeout guards hangs."""
    while not condition():
        await asyncio.sleep(0.001)


def port_of(server: asyncio.AbstractServer) -> int:
    port: int = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    return port


@pytest.fixture
def unix_path() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield os.path.join(tmp, "sock")


async def echo_lines(reader: StreamReader, writer: StreamWriter) -> None:
    async for line in reader:
        writer.write(line)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_tcp_echo_with_coroutine_callback(run: Runner) -> None:
    async def main() -> None:
        server = await start_server(echo_lines, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            assert isinstance(reader, StreamReader)
            assert isinstance(writer, StreamWriter)
            assert isinstance(writer._protocol, StreamReaderProtocol)
            assert writer.get_extra_info("peername")[1] == port_of(server)
            assert writer.get_extra_info("nonexistent", "dflt") == "dflt"
            assert writer.transport is writer._transport
            writer.write(b"hello world!\n")
            writer.writelines([b"two ", bytearray(b"parts\n"), memoryview(b"three\n")])
            await writer.drain()
            assert await reader.readline() == b"hello world!\n"
            assert await reader.readline() == b"two parts\n"
            assert await reader.readuntil(b"\n") == b"three\n"
            assert writer.can_write_eof()
            writer.write_eof()
            assert await reader.read() == b""
            assert reader.at_eof()
            assert not writer.is_closing()
            writer.close()
            assert writer.is_closing()
            await writer.wait_closed()
            await writer.wait_closed()  # again: still fine

    run(main())


def test_hosts_and_ports_as_asyncio_takes_them(run: Runner) -> None:
    # asyncio hands host and port to the loop untouched: a tuple of hosts for
    # a server, a bytes host, a str port. The compiled build once raised
    # TypeError ("str or None object expected") for these.
    async def main() -> None:
        server = await start_server(echo_lines, ("127.0.0.1",), 0)
        async with server:
            port = port_of(server)
            for host, port_arg in ((b"127.0.0.1", port), ("127.0.0.1", str(port))):
                reader, writer = await open_connection(host, port_arg)
                writer.write(b"hi\n")
                assert await reader.readline() == b"hi\n"
                writer.close()
                await writer.wait_closed()

    run(main())


def test_plain_function_callback(run: Runner) -> None:
    async def main() -> None:
        tasks: list[asyncio.Task[None]] = []

        def on_connect(reader: StreamReader, writer: StreamWriter) -> None:
            tasks.append(asyncio.ensure_future(echo_lines(reader, writer)))

        server = await start_server(on_connect, "127.0.0.1", 0)
        reader, writer = await open_connection("127.0.0.1", port_of(server))
        writer.write(b"ping\n")
        assert await reader.readline() == b"ping\n"
        writer.close()
        await writer.wait_closed()
        await asyncio.gather(*tasks)
        server.close()
        await server.wait_closed()

    run(main())


@pytest.mark.filterwarnings("error::DeprecationWarning")  # mypyc throw() forms
def test_serve_forever_in_async_with(run: Runner) -> None:
    async def main() -> None:
        server = await start_server(echo_lines, "127.0.0.1", 0, start_serving=False)
        port = port_of(server)

        async def serve() -> None:
            async with server:
                await server.serve_forever()

        serving = asyncio.ensure_future(serve())
        await until(server.is_serving)
        reader, writer = await open_connection("127.0.0.1", port)
        writer.write(b"served\n")
        assert await reader.readline() == b"served\n"
        writer.close()
        await writer.wait_closed()
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
        assert not server.is_serving()

    run(main())


def test_unix_echo(run: Runner, unix_path: str) -> None:
    async def main() -> None:
        server = await start_unix_server(echo_lines, unix_path, limit=1024)
        async with server:
            reader, writer = await open_unix_connection(unix_path, limit=10)
            assert reader._limit == 10
            writer.write(b"over the limit\n")
            with pytest.raises(ValueError):
                # 10 bytes of line before the newline: over this reader's limit
                await reader.readline()
            writer.write(b"ok\n")
            assert await reader.readline() == b"ok\n"
            writer.close()
            await writer.wait_closed()

    run(main())


def test_limit_passes_through_to_server_readers(run: Runner) -> None:
    async def main() -> None:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            seen.set_result(reader._limit)
            writer.close()

        server = await start_server(handler, "127.0.0.1", 0, limit=123)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            assert await seen == 123
            assert await reader.read() == b""
            writer.close()
            await writer.wait_closed()
        with pytest.raises(ValueError):
            await start_server(handler, "127.0.0.1", 0, limit=0)
        with pytest.raises(ValueError):
            await open_connection("127.0.0.1", 1, limit=-1)

    run(main())


def test_large_transfer_with_drain_backpressure(run: Runner) -> None:
    size = 16 * 1024 * 1024
    payload = os.urandom(1024 * 1024) * 16

    async def main() -> None:
        go = asyncio.Event()
        digest: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def sink(reader: StreamReader, writer: StreamWriter) -> None:
            await go.wait()
            h = hashlib.sha256()
            got = 0
            while got < size:
                chunk = await reader.read(256 * 1024)
                assert chunk
                h.update(chunk)
                got += len(chunk)
            digest.set_result(h.hexdigest())
            writer.write(b"done\n")
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await start_server(sink, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            writer.transport.set_write_buffer_limits(high=64 * 1024)
            writer.write(payload)
            # More than the kernel's buffers take: the transport paused writing.
            assert writer._protocol._paused
            drain = asyncio.ensure_future(writer.drain())
            await asyncio.sleep(0)
            assert not drain.done()
            go.set()
            await drain
            assert await digest == hashlib.sha256(payload).hexdigest()
            assert await reader.readline() == b"done\n"
            writer.close()
            await writer.wait_closed()

    run(main())


def test_echo_many_chunks_byte_exact(run: Runner) -> None:
    async def main() -> None:
        async def echo(reader: StreamReader, writer: StreamWriter) -> None:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        server = await start_server(echo, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            blob = os.urandom(3 * 1024 * 1024 + 17)

            async def send() -> None:
                for i in range(0, len(blob), 100_000):
                    writer.write(blob[i : i + 100_000])
                    await writer.drain()
                writer.write_eof()

            sender = asyncio.ensure_future(send())
            received = await reader.readexactly(len(blob))
            await sender
            assert received == blob
            assert await reader.read() == b""
            writer.close()
            await writer.wait_closed()

    run(main())


def test_slow_reader_pauses_the_transport(run: Runner) -> None:
    size = 4 * 1024 * 1024

    async def main() -> None:
        sent = asyncio.Event()

        async def flood(reader: StreamReader, writer: StreamWriter) -> None:
            writer.write(b"z" * size)
            await writer.drain()
            sent.set()
            writer.close()

        server = await start_server(flood, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server), limit=4096)
            await until(lambda: reader._paused)
            assert not writer.transport.is_reading()
            assert len(reader._buffer) > 2 * 4096
            total = 0
            while chunk := await reader.read(4096):
                total += len(chunk)
                assert set(chunk) == {ord("z")}
            assert total == size
            assert sent.is_set()
            assert not reader._paused
            writer.close()
            await writer.wait_closed()

    run(main())


@pytest.mark.filterwarnings("error::DeprecationWarning")  # mypyc throw() forms
def test_cancelled_read_mid_way_loses_nothing(run: Runner) -> None:
    async def main() -> None:
        more = asyncio.Event()

        async def talker(reader: StreamReader, writer: StreamWriter) -> None:
            writer.write(b"first half ")
            await writer.drain()
            await more.wait()
            writer.write(b"second half\nrest")
            await writer.drain()
            writer.close()

        server = await start_server(talker, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            line = asyncio.ensure_future(reader.readline())
            await until(lambda: len(reader._buffer) == len(b"first half "))
            assert not line.done()
            line.cancel()
            with pytest.raises(asyncio.CancelledError):
                await line
            exact = asyncio.ensure_future(reader.readexactly(100))
            await asyncio.sleep(0)
            assert not exact.done()
            exact.cancel()
            with pytest.raises(asyncio.CancelledError):
                await exact
            assert reader._waiter is None
            more.set()
            assert await reader.readline() == b"first half second half\n"
            assert await reader.read() == b"rest"
            writer.close()
            await writer.wait_closed()

    run(main())


def test_connection_refused(run: Runner) -> None:
    async def main() -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with pytest.raises(ConnectionRefusedError):
            await open_connection("127.0.0.1", port)

    run(main())


def test_connection_error_reaches_reader(run: Runner) -> None:
    async def main() -> None:
        server = await start_server(echo_lines, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            writer._protocol.connection_lost(ZeroDivisionError())
            with pytest.raises(ZeroDivisionError):
                await reader.read()
            with pytest.raises(ZeroDivisionError):
                await writer.drain()
            writer.close()
            with pytest.raises(ZeroDivisionError):
                await writer.wait_closed()

    run(main())


def test_drain_raises_when_peer_resets(run: Runner) -> None:
    async def main() -> None:
        async def reset(reader: StreamReader, writer: StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            writer.transport.abort()

        server = await start_server(reset, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            with pytest.raises((ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
                while True:
                    writer.write(b"foo\n" * 1000)
                    await writer.drain()
            writer.close()
            with pytest.raises((ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
                await reader.read()

    run(main(), allow_errors=True)


def test_write_and_drain_after_close(run: Runner) -> None:
    async def main() -> None:
        server = await start_server(echo_lines, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            writer.close()
            with pytest.raises(ConnectionResetError):
                writer.write(b"data")
                await writer.drain()
            await writer.wait_closed()
            assert reader.at_eof()
            assert await reader.read() == b""

    run(main())


def test_handler_exception_goes_to_exception_handler(run: Runner) -> None:
    async def main() -> None:
        async def broken(reader: StreamReader, writer: StreamWriter) -> None:
            raise RuntimeError("handler failed")

        server = await start_server(broken, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            # The connection is closed by the server side.
            assert await reader.read() == b""
            writer.close()
            await writer.wait_closed()

    run(main(), allow_errors=True)
    ctx = run.errors
    assert len(ctx) == 1, ctx
    assert ctx[0]["message"] == "Unhandled exception in client_connected_cb"
    assert isinstance(ctx[0]["exception"], RuntimeError)
    assert "transport" in ctx[0]


def test_handler_cancelled_closes_quietly(run: Runner) -> None:
    async def main() -> None:
        async def cancelled(reader: StreamReader, writer: StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)

        server = await start_server(cancelled, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            assert await reader.read() == b""
            writer.close()
            await writer.wait_closed()

    run(main())


def test_unclosed_writer_warns(run: Runner) -> None:
    async def main() -> None:
        server = await start_server(echo_lines, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            transport = writer.transport
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                del writer
                gc.collect()
            messages = [str(w.message) for w in caught if w.category is ResourceWarning]
            assert len(messages) == 1
            assert messages[0].startswith("unclosed <StreamWriter")
            assert transport.is_closing()
            assert await reader.read() == b""

    run(main())


def test_writer_api_shape() -> None:
    # As in asyncio 3.13: not an async context manager.
    assert not hasattr(StreamWriter, "__aenter__")
    assert not hasattr(StreamWriter, "__aexit__")
    assert hasattr(StreamReader, "__aiter__")


def test_writer_repr(run: Runner) -> None:
    async def main() -> None:
        server = await start_server(echo_lines, "127.0.0.1", 0)
        async with server:
            _reader, writer = await open_connection("127.0.0.1", port_of(server))
            text = repr(writer)
            assert text.startswith("<StreamWriter transport=")
            assert "reader=<StreamReader" in text
            writer.close()
            await writer.wait_closed()

    run(main())


def test_stream_reader_protocol_by_hand(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await start_server(echo_lines, "127.0.0.1", 0)
        async with server:
            reader = StreamReader()
            protocol = StreamReaderProtocol(reader)
            assert protocol._loop is loop
            transport, _ = await loop.create_connection(
                lambda: protocol, "127.0.0.1", port_of(server)
            )
            writer = StreamWriter(transport, protocol, reader, loop)
            writer.write(b"by hand\n")
            assert await reader.readline() == b"by hand\n"
            writer.close()
            await writer.wait_closed()

    run(main())


@pytest.mark.filterwarnings("error::DeprecationWarning")  # mypyc throw() forms
def test_stream_reader_protocol_takes_any_bytes_like_data(run: Runner) -> None:
    # asyncio's protocol feeds whatever bytes-like object it is given; the
    # compiled build once raised TypeError ("bytes object expected") for a
    # bytearray or a memoryview.
    async def main() -> None:
        reader = StreamReader()
        protocol = StreamReaderProtocol(reader)
        protocol.data_received(bytearray(b"ab"))
        protocol.data_received(memoryview(b"c\n"))
        assert await reader.readline() == b"abc\n"

    run(main())


def test_cancel_open_connection_drain_and_wait_closed(run: Runner) -> None:
    async def main() -> None:
        hold = asyncio.Event()

        async def idle(reader: StreamReader, writer: StreamWriter) -> None:
            await hold.wait()
            writer.close()

        server = await start_server(idle, "127.0.0.1", 0)
        async with server:
            connecting = asyncio.ensure_future(open_connection("127.0.0.1", port_of(server)))
            await asyncio.sleep(0)
            connecting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await connecting

            _reader, writer = await open_connection("127.0.0.1", port_of(server))
            writer.transport.set_write_buffer_limits(high=1)
            writer.write(b"x" * (16 * 1024 * 1024))
            assert writer._protocol._paused
            draining = asyncio.ensure_future(writer.drain())
            closing = asyncio.ensure_future(writer.wait_closed())
            await asyncio.sleep(0)
            for task in (draining, closing):
                assert not task.done()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            writer.transport.abort()
            await writer.wait_closed()
            hold.set()

    run(main())


def test_debug_mode_logs_flow_control(run: Runner, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        asyncio.get_running_loop().set_debug(True)
        p = StreamReaderProtocol(StreamReader())
        with caplog.at_level("DEBUG", logger="corolla.streams"):
            p.pause_writing()
            p.resume_writing()
        assert [r.getMessage().split()[-2:] for r in caplog.records] == [
            ["pauses", "writing"],
            ["resumes", "writing"],
        ]

    run(main())
