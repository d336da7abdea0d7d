"""Process and create_subprocess_exec/create_subprocess_shell over corolla.streams."""

from __future__ import annotations

import asyncio
import asyncio.protocols  # the bases' modules: mypyc's non-native classes refer to them
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Final

from mypy_extensions import mypyc_attr

import corolla.streams._flow  # noqa: F401  (see above)
from corolla.streams import FlowControlProtocol, StreamReader, StreamWriter
from corolla.subprocess._util import Await as _Await
from corolla.subprocess._watch import logger

if TYPE_CHECKING:
    from corolla.subprocess._public import Process

DEFAULT_LIMIT: Final = 2**16


@mypyc_attr(native_class=False)
class SubprocessStreamProtocol(FlowControlProtocol, asyncio.SubprocessProtocol):
    """The protocol behind :class:`Process`: pipes as StreamReader/StreamWriter.

    stdout and stderr pipes feed :class:`corolla.streams.StreamReader` objects
    (which pause their pipe when more than ``2 * limit`` bytes are buffered);
    the stdin pipe is wrapped in a :class:`corolla.streams.StreamWriter` whose
    ``drain()`` waits on this protocol's flow control.
    """

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._limit = limit
        self.stdin: StreamWriter | None = None
        self.stdout: StreamReader | None = None
        self.stderr: StreamReader | None = None
        self._transport: Any = None
        self._process_exited = False
        self._pipe_fds: list[int] = []
        self._stdin_closed: asyncio.Future[None] = loop.create_future()
        self._all_closed = False
        self._exit_waiters: list[asyncio.Future[None]] = []

    def __repr__(self) -> str:
        info = [type(self).__name__]
        if self.stdin is not None:
            info.append(f"stdin={self.stdin!r}")
        if self.stdout is not None:
            info.append(f"stdout={self.stdout!r}")
        if self.stderr is not None:
            info.append(f"stderr={self.stderr!r}")
        return "<" + " ".join(info) + ">"

    def connection_made(self, transport: Any) -> None:
        # Any loop's subprocess transport (uvloop's is not an asyncio.SubprocessTransport).
        self._transport = transport
        loop = self._loop
        stdout = transport.get_pipe_transport(1)
        if stdout is not None:
            reader = StreamReader(limit=self._limit, loop=loop)
            reader.set_transport(stdout)
            self.stdout = reader
            self._pipe_fds.append(1)
        stderr = transport.get_pipe_transport(2)
        if stderr is not None:
            reader = StreamReader(limit=self._limit, loop=loop)
            reader.set_transport(stderr)
            self.stderr = reader
            self._pipe_fds.append(2)
        stdin = transport.get_pipe_transport(0)
        if stdin is not None:
            self.stdin = StreamWriter(stdin, self, None, loop)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        reader = self.stdout if fd == 1 else self.stderr if fd == 2 else None
        if reader is not None:
            reader.feed_data(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 0:
            stdin = self.stdin
            if stdin is not None:
                stdin.close()
            # Wakes drain() waiters: the stdin pipe is this protocol's "connection".
            FlowControlProtocol.connection_lost(self, exc)
            closed = self._stdin_closed
            if not closed.done():
                if exc is None:
                    closed.set_result(None)
                else:
                    closed.set_exception(exc)
                    closed.exception()  # wait_closed() is optional: never "never retrieved"
            return
        reader = self.stdout if fd == 1 else self.stderr if fd == 2 else None
        if reader is not None:
            if exc is None:
                reader.feed_eof()
            else:
                reader.set_exception(exc)
        if fd in self._pipe_fds:
            self._pipe_fds.remove(fd)
        self._maybe_close_transport()

    def process_exited(self) -> None:
        self._process_exited = True
        self._maybe_close_transport()

    def _maybe_close_transport(self) -> None:
        if not self._pipe_fds and self._process_exited:
            transport = self._transport
            self._transport = None
            if transport is not None:
                transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        """The process exited and all its pipes closed: wake :meth:`Process.wait`."""
        if not self._connection_lost:
            FlowControlProtocol.connection_lost(self, exc)
        self._all_closed = True
        waiters = self._exit_waiters
        self._exit_waiters = []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _get_close_waiter(self, stream: object) -> Any:
        if stream is self.stdin:
            return self._stdin_closed
        return FlowControlProtocol._get_close_waiter(self, stream)

    async def _wait_closed(self) -> None:
        if self._all_closed:
            return
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._exit_waiters.append(waiter)
        try:
            await _Await(waiter)
        finally:
            if waiter in self._exit_waiters:
                self._exit_waiters.remove(waiter)


@mypyc_attr(allow_interpreted_subclasses=True)
class ProcessCore:
    """What :class:`corolla.subprocess.Process` does (the public class: ``_public``)."""

    def __init__(
        self,
        transport: Any,
        protocol: SubprocessStreamProtocol,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._loop = loop
        self.stdin: StreamWriter | None = protocol.stdin
        self.stdout: StreamReader | None = protocol.stdout
        self.stderr: StreamReader | None = protocol.stderr
        self.pid: int = transport.get_pid()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.pid}>"

    @property
    def returncode(self) -> int | None:
        """The exit code once the process exited (negative: killed by that signal), else None."""
        code: int | None = self._transport.get_returncode()
        return code

    async def wait(self) -> int:
        """Wait until the process exits and its pipes close; return the exit code."""
        await self._protocol._wait_closed()
        code: int | None = self._transport.get_returncode()
        assert code is not None
        return code

    def send_signal(self, signal: int) -> None:
        """Send ``signal`` to the process (ProcessLookupError once it has exited)."""
        self._transport.send_signal(signal)

    def terminate(self) -> None:
        """Send SIGTERM to the process."""
        self._transport.terminate()

    def kill(self) -> None:
        """Send SIGKILL to the process."""
        self._transport.kill()

    async def _feed_stdin(self, input: bytes | bytearray | memoryview | None) -> None:
        stdin = self.stdin
        assert stdin is not None
        debug = self._loop.get_debug()
        try:
            if input is not None:
                stdin.write(input)
                if debug:
                    logger.debug("%r communicate: feed stdin (%s bytes)", self, len(input))
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The child may exit (or close its stdin) without reading it all.
            if debug:
                logger.debug("%r communicate: stdin got %r", self, exc)
        if debug:
            logger.debug("%r communicate: close stdin", self)
        stdin.close()

    async def _read_stream(self, fd: int) -> bytes:
        stream = self.stdout if fd == 1 else self.stderr
        assert stream is not None
        output = await stream.read()
        pipe = self._transport.get_pipe_transport(fd)
        if pipe is not None:
            pipe.close()
        return output

    async def communicate(
        self, input: bytes | bytearray | memoryview | None = None
    ) -> tuple[bytes | None, bytes | None]:
        """Send ``input`` to stdin (then close it), read stdout and stderr to EOF, wait for exit.

        Returns ``(stdout_data, stderr_data)``; an item is None when that
        stream is not a PIPE. A child that exits or closes its stdin before
        reading all of ``input`` is not an error.
        """
        parts: list[Coroutine[Any, Any, Any]] = []
        if self.stdin is not None:
            parts.append(self._feed_stdin(input))
        if self.stdout is not None:
            parts.append(self._read_stream(1))
        if self.stderr is not None:
            parts.append(self._read_stream(2))
        results = await _run_all(self._loop, parts)
        stdout: bytes | None = None
        stderr: bytes | None = None
        i = 1 if self.stdin is not None else 0
        if self.stdout is not None:
            stdout = results[i]
            i += 1
        if self.stderr is not None:
            stderr = results[i]
        await self.wait()
        return (stdout, stderr)


class _AllDone:
    """Resolves ``waiter`` once ``count`` tasks are done."""

    def __init__(self, waiter: asyncio.Future[None], count: int) -> None:
        self.waiter = waiter
        self.left = count

    def __call__(self, task: asyncio.Future[Any]) -> None:
        self.left -= 1
        if self.left == 0 and not self.waiter.done():
            self.waiter.set_result(None)


async def _run_all(
    loop: asyncio.AbstractEventLoop, coros: list[Coroutine[Any, Any, Any]]
) -> list[Any]:
    """Run coroutines concurrently (like gather): results in order, first error raised.

    Cancelling the caller cancels them all.
    """
    if not coros:
        return []
    if len(coros) == 1:
        return [await _Await(coros[0])]
    tasks = [loop.create_task(coro) for coro in coros]
    waiter: asyncio.Future[None] = loop.create_future()
    done = _AllDone(waiter, len(tasks))
    for task in tasks:
        task.add_done_callback(done)
    try:
        await _Await(waiter)
    finally:
        if not waiter.done() or waiter.cancelled():
            for task in tasks:
                task.cancel()
    results: list[Any] = []
    for task in tasks:
        if task.cancelled():
            raise asyncio.CancelledError()
        exc = task.exception()
        if exc is not None:
            raise exc
        results.append(task.result())
    return results


async def create_subprocess_exec(
    program: Any,
    *args: Any,
    stdin: Any = None,
    stdout: Any = None,
    stderr: Any = None,
    limit: int = DEFAULT_LIMIT,
    **kwds: Any,
) -> Process:
    """Start ``program`` with ``args`` on the running loop; a :class:`Process`.

    ``stdin``/``stdout``/``stderr`` take PIPE (streams on the Process), DEVNULL,
    STDOUT (stderr only), a file object or descriptor, or None (inherit).
    ``limit`` is the StreamReader buffer limit. Other keywords go to the loop's
    ``subprocess_exec`` and on to :class:`subprocess.Popen`.
    """
    loop = asyncio.get_running_loop()
    factory = _ProtocolFactory(limit, loop)
    transport, protocol = await _Await(
        loop.subprocess_exec(
            factory, program, *args, stdin=stdin, stdout=stdout, stderr=stderr, **kwds
        )
    )
    assert isinstance(protocol, SubprocessStreamProtocol)
    process: Process = process_class(transport, protocol, loop)
    return process


async def create_subprocess_shell(
    cmd: Any,
    stdin: Any = None,
    stdout: Any = None,
    stderr: Any = None,
    limit: int = DEFAULT_LIMIT,
    **kwds: Any,
) -> Process:
    """Run the shell command line ``cmd`` on the running loop; a :class:`Process`.

    The arguments are those of :func:`create_subprocess_exec`.
    """
    loop = asyncio.get_running_loop()
    factory = _ProtocolFactory(limit, loop)
    transport, protocol = await _Await(
        loop.subprocess_shell(factory, cmd, stdin=stdin, stdout=stdout, stderr=stderr, **kwds)
    )
    assert isinstance(protocol, SubprocessStreamProtocol)
    process: Process = process_class(transport, protocol, loop)
    return process


# What create_subprocess_exec/_shell make: the public Process, an interpreted
# subclass of ProcessCore (weak references, attributes and subclasses, as
# asyncio's plain class), which corolla.subprocess._public registers here.
process_class: Any = ProcessCore


class _ProtocolFactory:
    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        self.limit = limit
        self.loop = loop

    def __call__(self) -> SubprocessStreamProtocol:
        return SubprocessStreamProtocol(self.limit, self.loop)
