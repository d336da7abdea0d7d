"""Socket stream transports over real loopback and Unix sockets."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import struct
import tempfile
from typing import Any

import pytest

import corolla.transports as ct

Runner = Any  # the `run` fixture from conftest.py


class Recorder(asyncio.Protocol):
    """Collects everything a connection sees, with futures to wait on."""

    def __init__(self, *, keep_open_on_eof: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.transport: Any = None
        self.data = bytearray()
        self.events: list[str] = []
        self.made: asyncio.Future[None] = loop.create_future()
        self.eof: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[BaseException | None] = loop.create_future()
        self.lost_calls = 0
        self.keep_open_on_eof = keep_open_on_eof
        self.want = -1
        self.got_enough: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.events.append("made")
        self.made.set_result(None)

    def data_received(self, data: bytes) -> None:
        assert isinstance(data, bytes)
        self.data += data
        if 0 <= self.want <= len(self.data) and not self.got_enough.done():
            self.got_enough.set_result(None)

    def eof_received(self) -> bool:
        self.events.append("eof")
        self.eof.set_result(None)
        return self.keep_open_on_eof

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("lost")
        self.lost_calls += 1
        if not self.lost.done():
            self.lost.set_result(exc)


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def eof_received(self) -> bool:
        return False


class BufferedEcho(asyncio.BufferedProtocol):
    def __init__(self) -> None:
        self.buf = bytearray(65536)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def get_buffer(self, sizehint: int) -> bytearray:
        return self.buf

    def buffer_updated(self, nbytes: int) -> None:
        self.transport.write(bytes(self.buf[:nbytes]))

    def eof_received(self) -> bool:
        return False


async def tcp_server(factory: Any, **kwargs: Any) -> tuple[ct.Server, int]:
    server = await ct.create_server(asyncio.get_running_loop(), factory, "127.0.0.1", 0, **kwargs)
    port = server.sockets[0].getsockname()[1]
    return server, port


async def connect(port: int, **kwargs: Any) -> tuple[Any, Recorder]:
    loop = asyncio.get_running_loop()
    transport, proto = await ct.create_connection(loop, Recorder, "127.0.0.1", port, **kwargs)
    assert isinstance(proto, Recorder)
    return transport, proto


# -- interfaces ------------------------------------------------------------


def test_interfaces_are_the_stdlib_ones() -> None:
    assert ct.Protocol is asyncio.Protocol
    assert ct.BufferedProtocol is asyncio.BufferedProtocol
    assert ct.DatagramProtocol is asyncio.DatagramProtocol
    assert ct.BaseTransport is asyncio.BaseTransport
    assert issubclass(ct.SocketTransport, asyncio.Transport)
    assert issubclass(ct.Server, asyncio.AbstractServer)


# -- echo ------------------------------------------------------------------


@pytest.mark.parametrize("server_protocol", [Echo, BufferedEcho], ids=["protocol", "buffered"])
def test_tcp_echo(run: Runner, server_protocol: type) -> None:
    async def main() -> None:
        server, port = await tcp_server(server_protocol)
        async with server:
            transport, proto = await connect(port)
            assert isinstance(transport, asyncio.Transport)
            assert proto.events == ["made"]
            payload = os.urandom(300_000)
            proto.want = len(payload)
            transport.write(payload[:1000])
            transport.writelines([payload[1000:5000], bytearray(payload[5000:200_000])])
            transport.write(memoryview(payload)[200_000:])
            await proto.got_enough
            assert bytes(proto.data) == payload
            transport.close()
            assert await proto.lost is None
            assert proto.lost_calls == 1

    run(main())


class BufferedRecorder(asyncio.BufferedProtocol):
    def __init__(self, want: int) -> None:
        loop = asyncio.get_running_loop()
        self.storage = bytearray(want)
        self.view = memoryview(self.storage)
        self.pos = 0
        self.want = want
        self.done: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.sizehints: list[int] = []

    def get_buffer(self, sizehint: int) -> memoryview:
        self.sizehints.append(sizehint)
        return self.view[self.pos :]

    def buffer_updated(self, nbytes: int) -> None:
        self.pos += nbytes
        if self.pos == self.want:
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(None)


def test_buffered_protocol_reads_in_place(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await tcp_server(Echo)
        async with server:
            payload = os.urandom(1_000_000)
            transport, proto = await ct.create_connection(
                loop, lambda: BufferedRecorder(len(payload)), "127.0.0.1", port
            )
            assert isinstance(proto, BufferedRecorder)
            transport.write(payload)
            await proto.done
            assert bytes(proto.storage) == payload
            transport.close()
            await proto.lost

    run(main())


def test_unix_echo_and_socket_file_cleanup(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sock")
            # A stale socket file from an earlier run is replaced.
            stale = socket.socket(socket.AF_UNIX)
            stale.bind(path)
            stale.close()
            server = await ct.create_unix_server(loop, Echo, path)
            assert os.path.exists(path)
            transport, proto = await ct.create_unix_connection(loop, Recorder, path)
            assert isinstance(proto, Recorder)
            assert transport.get_extra_info("peername") == path
            proto.want = 5
            transport.write(b"hello")
            await proto.got_enough
            assert proto.data == b"hello"
            transport.write_eof()
            await proto.eof
            await proto.lost
            server.close()
            await server.wait_closed()
            assert not os.path.exists(path)

    run(main())


def test_unix_server_keeps_file_without_cleanup(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sock")
            server = await ct.create_unix_server(loop, Echo, path, cleanup_socket=False)
            server.close()
            await server.wait_closed()
            assert os.path.exists(path)
            os.unlink(path)
            # Any truth value, as asyncio (the compiled build once raised TypeError for 0).
            server = await ct.create_unix_server(
                loop, Echo, path, cleanup_socket=0, start_serving=1
            )
            assert server.is_serving()
            server.close()
            await server.wait_closed()
            assert os.path.exists(path)

    run(main())


def test_unix_server_does_not_replace_regular_file(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "file")
            with open(path, "w") as f:
                f.write("x")
            with pytest.raises(OSError, match="already in use"):
                await ct.create_unix_server(loop, Echo, path)

    run(main())


# -- flow control, large transfers ------------------------------------------


class Sink(asyncio.Protocol):
    """Hashes what arrives; can start paused."""

    def __init__(self, start_paused: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.hash = hashlib.sha256()
        self.count = 0
        self.start_paused = start_paused
        self.transport: Any = None
        self.made: asyncio.Future[None] = loop.create_future()
        self.eof: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if self.start_paused:
            self.transport.pause_reading()
            assert not self.transport.is_reading()
        self.made.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.hash.update(data)
        self.count += len(data)

    def eof_received(self) -> bool:
        self.eof.set_result(None)
        return False


class Source(Recorder):
    def __init__(self) -> None:
        super().__init__()
        loop = asyncio.get_running_loop()
        self.paused = 0
        self.resumed = 0
        self.can_write: asyncio.Future[None] = loop.create_future()
        self.can_write.set_result(None)
        self.was_paused: asyncio.Future[None] = loop.create_future()

    def pause_writing(self) -> None:
        self.paused += 1
        self.can_write = asyncio.get_running_loop().create_future()
        if not self.was_paused.done():
            self.was_paused.set_result(None)

    def resume_writing(self) -> None:
        self.resumed += 1
        self.can_write.set_result(None)


@pytest.mark.parametrize("total_mb", [64])
def test_large_transfer_byte_exact_under_flow_control(run: Runner, total_mb: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sinks: list[Sink] = []

        def factory() -> Sink:
            sinks.append(Sink())
            return sinks[-1]

        server, port = await tcp_server(factory)
        async with server:
            transport, source = await ct.create_connection(loop, Source, "127.0.0.1", port)
            assert isinstance(source, Source)
            chunk = os.urandom(1 << 20)
            expected = hashlib.sha256()
            for i in range(total_mb):
                await source.can_write
                block = struct.pack("!Q", i) + chunk[8:]
                expected.update(block)
                transport.write(block)
            transport.close()
            await source.lost
            await sinks[0].eof
            assert sinks[0].count == total_mb << 20
            assert sinks[0].hash.hexdigest() == expected.hexdigest()
            assert source.paused >= 1
            assert source.resumed == source.paused

    run(main())


def test_slow_reader_pauses_writer_then_resumes(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sinks: list[Sink] = []

        def factory() -> Sink:
            sinks.append(Sink(start_paused=True))
            return sinks[-1]

        server, port = await tcp_server(factory)
        async with server:
            transport, source = await ct.create_connection(loop, Source, "127.0.0.1", port)
            assert isinstance(source, Source)
            transport.set_write_buffer_limits(high=65536)
            assert transport.get_write_buffer_limits() == (16384, 65536)
            sent = 0
            block = b"x" * 65536
            while not source.was_paused.done():
                transport.write(block)
                sent += len(block)
                # Let the kernel move what it can; the paused reader takes nothing.
                await asyncio.sleep(0)
            assert transport.get_write_buffer_size() > 65536
            await sinks[0].made
            assert sinks[0].count == 0 or not sinks[0].transport.is_reading()
            sinks[0].transport.resume_reading()
            await source.can_write
            assert source.resumed == 1
            transport.close()
            await sinks[0].eof
            assert sinks[0].count == sent
            await source.lost

    run(main())


def test_close_flushes_everything(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sinks: list[Sink] = []

        def factory() -> Sink:
            sinks.append(Sink())
            return sinks[-1]

        server, port = await tcp_server(factory)
        async with server:
            transport, proto = await connect(port)
            data = os.urandom(8 << 20)
            transport.write(data)
            transport.close()
            assert transport.is_closing()
            assert await proto.lost is None
            await sinks[0].eof
            assert sinks[0].hash.hexdigest() == hashlib.sha256(data).hexdigest()
            del loop

    run(main())


def test_abort_discards_and_reports_once(run: Runner) -> None:
    async def main() -> None:
        server, port = await tcp_server(Recorder)
        async with server:
            transport, proto = await connect(port)
            transport.set_write_buffer_limits(high=1 << 30)
            transport.write(b"y" * (16 << 20))
            transport.abort()
            transport.abort()
            transport.close()
            assert transport.is_closing()
            assert transport.get_write_buffer_size() == 0
            assert await proto.lost is None
            await asyncio.sleep(0)
            assert proto.lost_calls == 1
            server.close_clients()

    run(main())


# -- half close, errors ------------------------------------------------------


class HalfCloser(asyncio.Protocol):
    """Replies to a request after the client's EOF, then closes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self.data = bytearray()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def eof_received(self) -> bool:
        self.transport.write(b"got " + bytes(self.data))
        self.transport.close()
        return True


def test_write_eof_half_close(run: Runner) -> None:
    async def main() -> None:
        server, port = await tcp_server(HalfCloser)
        async with server:
            transport, proto = await connect(port)
            assert transport.can_write_eof()
            transport.write(b"ping")
            transport.write_eof()
            with pytest.raises(RuntimeError):
                transport.write(b"more")
            assert await proto.lost is None
            assert proto.data == b"got ping"
            assert proto.events == ["made", "eof", "lost"]

    run(main())


def test_peer_half_close_keep_open(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.create_server(("127.0.0.1", 0)) as listener:
            port = listener.getsockname()[1]
            listener.setblocking(False)
            task = loop.create_task(
                ct.create_connection(
                    loop, lambda: Recorder(keep_open_on_eof=True), "127.0.0.1", port
                )
            )
            peer, _ = await loop.sock_accept(listener)
            with peer:
                transport, proto = await task
                assert isinstance(proto, Recorder)
                peer.shutdown(socket.SHUT_WR)
                await proto.eof
                assert not transport.is_closing()
                transport.write(b"still here")
                transport.close()
                await proto.lost
                received = b""
                while True:
                    chunk = await loop.sock_recv(peer, 100)
                    if not chunk:
                        break
                    received += chunk
                assert received == b"still here"

    run(main())


def test_connection_reset_reaches_connection_lost(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.setblocking(False)
            port = listener.getsockname()[1]
            task = loop.create_task(connect(port))
            peer, _ = await loop.sock_accept(listener)
            transport, proto = await task
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            peer.close()
            exc = await proto.lost
            assert isinstance(exc, ConnectionResetError)
            assert proto.lost_calls == 1
            assert transport.is_closing()

    run(main())


def test_connection_refused(run: Runner) -> None:
    async def main() -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with pytest.raises(ConnectionRefusedError):
            await connect(port)
        with pytest.raises(ExceptionGroup) as info:
            await connect(port, all_errors=True)
        assert info.group_contains(ConnectionRefusedError)

    run(main())


class Exploding(Recorder):
    def data_received(self, data: bytes) -> None:
        raise ZeroDivisionError("boom")


def test_protocol_error_goes_to_handler_and_closes(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await tcp_server(Echo)
        async with server:
            transport, proto = await ct.create_connection(loop, Exploding, "127.0.0.1", port)
            assert isinstance(proto, Exploding)
            transport.write(b"x")
            exc = await proto.lost
            assert isinstance(exc, ZeroDivisionError)

    run(main(), allow_errors=True)
    assert any(isinstance(c.get("exception"), ZeroDivisionError) for c in run.errors)


# -- extra info --------------------------------------------------------------


def test_extra_info_and_safe_socket(run: Runner) -> None:
    async def main() -> None:
        server, port = await tcp_server(Echo)
        async with server:
            transport, proto = await connect(port)
            assert transport.get_extra_info("peername") == ("127.0.0.1", port)
            assert transport.get_extra_info("sockname")[0] == "127.0.0.1"
            assert transport.get_extra_info("nope", 42) == 42
            tsock = transport.get_extra_info("socket")
            assert isinstance(tsock, ct.TransportSocket)
            assert tsock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            assert tsock.family == socket.AF_INET
            assert tsock.type == socket.SOCK_STREAM
            assert tsock.fileno() >= 0
            assert "TransportSocket" in repr(tsock)
            for op in ("send", "recv", "close", "detach", "connect", "sendall"):
                with pytest.raises(RuntimeError):
                    getattr(tsock, op)(b"")
            with pytest.raises(ValueError):
                tsock.setblocking(True)
            tsock.setblocking(False)
            assert transport.get_protocol() is proto
            transport.close()
            await proto.lost

    run(main())


def test_pause_resume_reading_state(run: Runner) -> None:
    async def main() -> None:
        server, port = await tcp_server(Echo)
        async with server:
            transport, proto = await connect(port)
            assert transport.is_reading()
            transport.pause_reading()
            transport.pause_reading()
            assert not transport.is_reading()
            transport.write(b"abc")
            transport.resume_reading()
            assert transport.is_reading()
            proto.want = 3
            await proto.got_enough
            transport.close()
            assert not transport.is_reading()
            await proto.lost

    run(main())


def test_set_protocol_switches_receiver(run: Runner) -> None:
    async def main() -> None:
        server, port = await tcp_server(Echo)
        async with server:
            transport, first = await connect(port)
            second = Recorder()
            transport.set_protocol(second)
            second.want = 2
            transport.write(b"hi")
            await second.got_enough
            assert second.data == b"hi"
            assert first.data == b""
            transport.close()
            await second.lost

    run(main())


def test_write_rejects_non_bytes(run: Runner) -> None:
    async def main() -> None:
        server, port = await tcp_server(Echo)
        async with server:
            transport, proto = await connect(port)
            with pytest.raises(TypeError):
                transport.write("text")
            with pytest.raises(ValueError):
                transport.set_write_buffer_limits(high=1, low=2)
            transport.close()
            await proto.lost

    run(main())


def test_mutable_buffer_is_copied_when_queued(run: Runner) -> None:
    async def main() -> None:
        sinks: list[Sink] = []

        def factory() -> Sink:
            sinks.append(Sink(start_paused=True))
            return sinks[-1]

        server, port = await tcp_server(factory)
        async with server:
            transport, proto = await connect(port)
            transport.set_write_buffer_limits(high=1 << 30)
            filler = b"f" * (8 << 20)
            transport.write(filler)
            assert transport.get_write_buffer_size() > 0
            buf = bytearray(b"A" * 1000)
            transport.write(buf)
            buf[:] = b"B" * 1000
            transport.close()
            await sinks[0].made
            sinks[0].transport.resume_reading()
            await sinks[0].eof
            assert sinks[0].hash.hexdigest() == hashlib.sha256(filler + b"A" * 1000).hexdigest()
            await proto.lost

    run(main())
