"""The public stream classes behave like asyncio's: weak references, attributes, subclasses.

Run on the pure and the compiled build (tools/check_package.py): compiled, a weak reference
outliving a StreamReaderProtocol used to crash Python 3.11, and StreamReader/StreamWriter took
neither weak references nor attributes.
"""

from __future__ import annotations

import asyncio
import gc
import os
import tempfile
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from corolla.streams import (
    FlowControlProtocol,
    StreamReader,
    StreamReaderProtocol,
    StreamWriter,
    open_connection,
    open_unix_connection,
    start_server,
    start_unix_server,
)

Runner = Any  # the `run` fixture from conftest.py


class _NullTransport(asyncio.Transport):
    """A transport that is always open and drops what is written (no socket needed)."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def _makers() -> dict[str, Callable[[], object]]:
    loop = asyncio.get_running_loop()
    return {
        "StreamReader": StreamReader,
        "StreamReaderProtocol": lambda: StreamReaderProtocol(StreamReader()),
        "StreamWriter": lambda: StreamWriter(
            _NullTransport(), StreamReaderProtocol(None), None, loop
        ),
    }


NAMES = ["StreamReader", "StreamReaderProtocol", "StreamWriter"]


def _close(obj: object) -> None:
    if isinstance(obj, StreamWriter):
        obj.close()  # an open writer warns when collected


@pytest.mark.parametrize("name", NAMES)
def test_weakref_dies_with_the_object(run: Runner, name: str) -> None:
    async def main() -> None:
        obj = _makers()[name]()
        _close(obj)
        ref = weakref.ref(obj)
        assert ref() is obj
        del obj
        # No cycle: freed at once, and the reference is cleared (3.11 used to crash here).
        assert ref() is None
        junk = [bytearray(64) for _ in range(2000)]
        assert ref() is None
        del junk

    run(main())


@pytest.mark.parametrize("name", NAMES)
def test_weak_containers_drop_the_object(run: Runner, name: str) -> None:
    async def main() -> None:
        dropped: list[str] = []
        obj = _makers()[name]()
        _close(obj)
        values: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        values["key"] = obj
        members: weakref.WeakSet[Any] = weakref.WeakSet()
        members.add(obj)
        weakref.finalize(obj, dropped.append, name)
        assert values["key"] is obj
        assert obj in members
        del obj
        gc.collect()
        assert dropped == [name]
        assert "key" not in values
        assert len(members) == 0

    run(main())


@pytest.mark.parametrize("name", NAMES)
def test_instance_attributes(run: Runner, name: str) -> None:
    async def main() -> None:
        obj = _makers()[name]()
        _close(obj)
        obj.user_tag = "mine"  # type: ignore[attr-defined]
        assert obj.user_tag == "mine"  # type: ignore[attr-defined]
        assert vars(obj)["user_tag"] == "mine"

    run(main())


def test_class_relations_match_asyncio() -> None:
    assert issubclass(StreamReaderProtocol, asyncio.Protocol)
    assert issubclass(StreamReaderProtocol, asyncio.BaseProtocol)
    assert issubclass(StreamReaderProtocol, FlowControlProtocol)
    for cls in (StreamReader, StreamWriter, StreamReaderProtocol):
        assert cls.__name__ == cls.__qualname__
        assert cls.__doc__
    assert not issubclass(StreamReader, asyncio.BaseProtocol)
    assert not issubclass(StreamWriter, asyncio.BaseTransport)


def test_repr_shows_the_public_names(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        reader = StreamReader()
        protocol = StreamReaderProtocol(reader)
        writer = StreamWriter(_NullTransport(), protocol, reader, loop)
        assert repr(reader).startswith("<StreamReader")
        assert repr(writer).startswith("<StreamWriter transport=")
        assert "StreamReaderProtocol" in repr(protocol)
        writer.close()

    run(main())


class _CountingReader(StreamReader):
    def __init__(self) -> None:
        super().__init__(limit=1024)
        self.fed: list[bytes] = []

    def feed_data(self, data: Any) -> None:
        self.fed.append(bytes(data))
        super().feed_data(data)


class _UpperWriter(StreamWriter):
    def write(self, data: Any) -> None:
        super().write(bytes(data).upper())


class _RecordingProtocol(StreamReaderProtocol):
    """A user protocol as written for asyncio's: overrides with super() calls, own state."""

    def __init__(self, reader: StreamReader) -> None:
        super().__init__(reader)
        self.events: list[str] = []
        self.made = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.events.append("made")
        super().connection_made(transport)
        self.made.set_result(transport)

    def data_received(self, data: bytes) -> None:
        self.events.append(f"data {len(data)}")
        super().data_received(data)

    def eof_received(self) -> bool:
        self.events.append("eof")
        return super().eof_received()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append("lost")
        super().connection_lost(exc)


def test_user_subclasses_over_a_connection(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def reply(reader: StreamReader, writer: StreamWriter) -> None:
            line = await reader.readline()
            writer.write(line * 2)
            await writer.drain()
            writer.close()

        server = await start_server(reply, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        reader = _CountingReader()
        protocol = _RecordingProtocol(reader)
        transport, _ = await loop.create_connection(lambda: protocol, "127.0.0.1", port)
        assert await protocol.made is transport
        writer = _UpperWriter(transport, protocol, reader, loop)
        assert isinstance(protocol, asyncio.Protocol)
        writer.write(b"ping\n")
        await writer.drain()
        assert await reader.read() == b"PING\nPING\n"
        assert b"".join(reader.fed) == b"PING\nPING\n"
        writer.close()
        await writer.wait_closed()
        assert protocol.events[0] == "made"
        assert protocol.events[-2:] == ["eof", "lost"]
        assert all(e.startswith("data ") for e in protocol.events[1:-2])
        server.close()
        await server.wait_closed()

    run(main())


def _check_pair(reader: object, writer: object) -> None:
    assert type(reader) is StreamReader
    assert type(writer) is StreamWriter
    protocol = writer._protocol
    assert type(protocol) is StreamReaderProtocol
    assert isinstance(protocol, asyncio.Protocol)
    weakref.ref(reader)
    weakref.ref(writer)
    weakref.ref(protocol)


def test_tcp_functions_make_the_public_classes(run: Runner) -> None:
    async def main() -> None:
        seen: list[tuple[object, object]] = []

        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            seen.append((reader, writer))
            await reader.read()
            writer.close()

        server = await start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        reader, writer = await open_connection("127.0.0.1", port)
        _check_pair(reader, writer)
        writer.write_eof()
        assert await reader.read() == b""
        _check_pair(*seen[0])
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(main())


def test_unix_functions_make_the_public_classes(run: Runner) -> None:
    async def main() -> None:
        seen: list[tuple[object, object]] = []

        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            seen.append((reader, writer))
            await reader.read()
            writer.close()

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sock")
            server = await start_unix_server(handler, path)
            reader, writer = await open_unix_connection(path)
            _check_pair(reader, writer)
            writer.write_eof()
            assert await reader.read() == b""
            _check_pair(*seen[0])
            writer.close()
            await writer.wait_closed()
            server.close()
            await server.wait_closed()

    run(main())


def test_unclosed_writer_subclass_still_warns(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport = _NullTransport()
        writer = _UpperWriter(transport, StreamReaderProtocol(None), None, loop)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del writer  # no cycle: __del__ runs here
        assert [str(w.message).split()[:2] for w in caught] == [["unclosed", "<_UpperWriter"]]
        assert caught[0].category is ResourceWarning
        assert transport.closed

    run(main())
