"""The subprocess transport and the subprocess_exec/subprocess_shell machinery."""

from __future__ import annotations

import asyncio
import asyncio.protocols  # the bases' modules: mypyc's non-native classes refer to them
import asyncio.transports
import os
import signal
import subprocess
import warnings
from collections.abc import Callable
from typing import Any, Final

from mypy_extensions import mypyc_attr

from corolla.subprocess._util import Await
from corolla.subprocess._watch import ChildWatch, logger

PIPE: Final = subprocess.PIPE
STDOUT: Final = subprocess.STDOUT
DEVNULL: Final = subprocess.DEVNULL


@mypyc_attr(native_class=False)
class PipeProtocol(asyncio.Protocol):
    """Connects one pipe transport (fd 0, 1 or 2) to its subprocess transport."""

    def __init__(self, core: SubprocessCore, fd: int) -> None:
        self.core: SubprocessCore | None = core
        self.fd = fd
        self.pipe: asyncio.BaseTransport | None = None
        self.disconnected = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self.fd} pipe={self.pipe!r}>"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.pipe = transport

    def data_received(self, data: bytes) -> None:
        core = self.core
        if core is not None:
            core.pipe_data_received(self.fd, data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.disconnected = True
        core = self.core
        self.core = None
        if core is not None:
            core.pipe_connection_lost(self.fd, exc)

    def pause_writing(self) -> None:
        core = self.core
        if core is not None:
            core.protocol_pause_writing()

    def resume_writing(self) -> None:
        core = self.core
        if core is not None:
            core.protocol_resume_writing()


class SubprocessCore:
    """The state behind SubprocessTransport (compiled class)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.BaseProtocol) -> None:
        self.public: asyncio.SubprocessTransport | None = None
        self.loop: asyncio.AbstractEventLoop | None = loop
        self.protocol: asyncio.BaseProtocol | None = protocol
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None
        self.returncode: int | None = None
        self.closed = False
        self.finished = False
        self.pipes: dict[int, PipeProtocol | None] = {}
        self.pending: list[tuple[Callable[..., object], tuple[Any, ...]]] | None = []
        self.exit_waiters: list[asyncio.Future[int]] = []
        self.watch: ChildWatch | None = None

    # ------------------------------------------------------------ starting

    def spawn(
        self,
        args: Any,
        shell: bool,
        *,
        stdin: Any,
        stdout: Any,
        stderr: Any,
        bufsize: int,
        kwargs: dict[str, Any],
    ) -> None:
        """Start the child (Popen), its pipe transports and the watch."""
        if stdin == PIPE:
            self.pipes[0] = None
        if stdout == PIPE:
            self.pipes[1] = None
        if stderr == PIPE:
            self.pipes[2] = None
        try:
            proc = subprocess.Popen(
                args,
                shell=shell,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                universal_newlines=False,
                bufsize=bufsize,
                **kwargs,
            )
        except BaseException:
            self.closed = True
            raise
        self.proc = proc
        self.pid = proc.pid
        loop = self.loop
        assert loop is not None
        watch = ChildWatch(loop, proc, self.process_exited)
        self.watch = watch
        watch.start()
        if loop.get_debug():
            program = args if isinstance(args, (bytes, str)) else args[0]
            logger.debug("process %r created: pid %s (%s watch)", program, self.pid, watch.kind)

    async def connect_pipes(self) -> None:
        """Connect the child's pipes with the loop's connect_write_pipe/connect_read_pipe."""
        loop = self.loop
        proc = self.proc
        assert loop is not None
        assert proc is not None
        if proc.stdin is not None:
            stdin = PipeProtocol(self, 0)
            self.pipes[0] = stdin
            await Await(loop.connect_write_pipe(lambda: stdin, proc.stdin))
        if proc.stdout is not None:
            stdout = PipeProtocol(self, 1)
            self.pipes[1] = stdout
            await Await(loop.connect_read_pipe(lambda: stdout, proc.stdout))
        if proc.stderr is not None:
            stderr = PipeProtocol(self, 2)
            self.pipes[2] = stderr
            await Await(loop.connect_read_pipe(lambda: stderr, proc.stderr))

    def start_failed(self) -> None:
        """The start failed: the protocol hears nothing more and the pipes are closed.

        Only the child's exit is waited for then: a loop's pipe transport that
        was cancelled half-way may never report its closing.
        """
        self.protocol = None
        self.pending = None
        proc = self.proc
        files = (None, None, None) if proc is None else (proc.stdin, proc.stdout, proc.stderr)
        pipes = self.pipes
        self.pipes = {}
        for fd, proto in pipes.items():
            if proto is not None:
                proto.core = None
                proto.disconnected = True
                if proto.pipe is not None:
                    proto.pipe.close()
            file = files[fd]
            if file is not None:
                try:
                    file.close()
                except OSError:
                    pass  # the loop's transport closed the descriptor itself
        self._try_finish()

    def connected(self) -> None:
        """Call the protocol's connection_made(), then what happened meanwhile."""
        pending = self.pending
        self.pending = None
        protocol = self.protocol
        try:
            if protocol is not None:
                protocol.connection_made(self.public)  # type: ignore[arg-type]
        finally:
            if pending:
                for callback, args in pending:
                    self._invoke(callback, args)

    # ------------------------------------------------------------ events

    def _call(self, callback: Callable[..., object], *args: Any) -> None:
        pending = self.pending
        if pending is not None:
            pending.append((callback, args))
        else:
            self._invoke(callback, args)

    def _invoke(self, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        # A failing protocol callback is reported and does not stop the
        # transport: the process is still collected and connection_lost follows.
        try:
            callback(*args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            loop = self.loop
            if loop is None:
                raise
            # Through Any: compiled, a call typed -> None checks for None, and a
            # replaced handler (a Mock) may return anything.
            loop_any: Any = loop
            loop_any.call_exception_handler(
                {
                    "message": f"Exception in subprocess protocol callback {callback!r}",
                    "exception": exc,
                    "transport": self.public,
                    "protocol": self.protocol,
                }
            )

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        protocol = self.protocol
        if protocol is not None:
            self._call(protocol.pipe_data_received, fd, data)  # type: ignore[attr-defined]

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        protocol = self.protocol
        if protocol is not None:
            self._call(protocol.pipe_connection_lost, fd, exc)  # type: ignore[attr-defined]
        self._try_finish()

    def protocol_pause_writing(self) -> None:
        protocol = self.protocol
        if protocol is not None:
            protocol.pause_writing()

    def protocol_resume_writing(self) -> None:
        protocol = self.protocol
        if protocol is not None:
            protocol.resume_writing()

    def process_exited(self, returncode: int) -> None:
        """Called by the watch, in the loop's thread, once the child's status is collected."""
        if self.returncode is not None:
            return
        self.returncode = returncode
        loop = self.loop
        if loop is not None and loop.get_debug():
            logger.info("%r exited with return code %r", self.public, returncode)
        protocol = self.protocol
        if protocol is not None:
            self._call(protocol.process_exited)  # type: ignore[attr-defined]
        self._try_finish()

    def _try_finish(self) -> None:
        if self.finished or self.returncode is None:
            return
        for proto in self.pipes.values():
            if proto is None or not proto.disconnected:
                return
        self.finished = True
        self._call(self._all_done)

    def _all_done(self) -> None:
        protocol = self.protocol
        try:
            if protocol is not None:
                self._invoke(protocol.connection_lost, (None,))
        finally:
            waiters = self.exit_waiters
            self.exit_waiters = []
            code = self.returncode
            assert code is not None
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(code)
            self.protocol = None
            self.loop = None

    async def wait(self) -> int:
        """Wait until the process exited and every pipe closed; its return code."""
        loop = self.loop
        if loop is None:
            code = self.returncode
            assert code is not None
            return code
        waiter: asyncio.Future[int] = loop.create_future()
        self.exit_waiters.append(waiter)
        result: int = await Await(waiter)
        return result

    # ------------------------------------------------------------ control

    def send_signal(self, sig: int) -> None:
        proc = self.proc
        if proc is None or self.returncode is not None or proc.returncode is not None:
            raise ProcessLookupError()
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for proto in self.pipes.values():
            if proto is not None and proto.pipe is not None:
                proto.pipe.close()
        proc = self.proc
        if proc is not None and self.returncode is None and proc.poll() is None:
            loop = self.loop
            if loop is not None and loop.get_debug():
                logger.warning("Close running child process: kill %r", self.public)
            try:
                proc.kill()
            except (ProcessLookupError, PermissionError):
                pass

    def abandon(self) -> None:
        """The transport is being destroyed: make sure the child gets collected."""
        watch = self.watch
        if watch is None or watch.is_done():
            return
        loop = self.loop
        if loop is None or loop.is_closed():
            watch.abandon()

    def get_pipe_transport(self, fd: int) -> asyncio.BaseTransport | None:
        proto = self.pipes.get(fd)
        if proto is None:
            return None
        return proto.pipe

    def describe(self, name: str) -> str:
        info = [name]
        if self.closed:
            info.append("closed")
        if self.pid is not None:
            info.append(f"pid={self.pid}")
        if self.returncode is not None:
            info.append(f"returncode={self.returncode}")
        elif self.pid is not None:
            info.append("running")
        else:
            info.append("not started")
        stdin = self.pipes.get(0)
        if stdin is not None:
            info.append(f"stdin={stdin.pipe!r}")
        stdout = self.pipes.get(1)
        stderr = self.pipes.get(2)
        if stdout is not None:
            info.append(f"stdout={stdout.pipe!r}")
        if stderr is not None:
            info.append(f"stderr={stderr.pipe!r}")
        return "<" + " ".join(info) + ">"


@mypyc_attr(native_class=False)
class SubprocessTransport(asyncio.SubprocessTransport):
    """A child process with its stdin/stdout/stderr pipes, for a SubprocessProtocol.

    Made by :func:`subprocess_exec` and :func:`subprocess_shell`. The protocol
    gets ``pipe_data_received(fd, data)``, ``pipe_connection_lost(fd, exc)``
    and ``process_exited()``; ``connection_lost(None)`` comes last, once the
    process exited and all its pipes closed.
    """

    def __init__(self, core: SubprocessCore, extra: dict[str, Any] | None = None) -> None:
        super().__init__(extra)
        core.public = self
        self._core = core

    def __repr__(self) -> str:
        return self._core.describe(type(self).__name__)

    def __del__(self) -> None:
        core = getattr(self, "_core", None)
        if core is None:
            return
        if not core.closed:
            warnings.warn(
                f"unclosed transport {self!r}", ResourceWarning, stacklevel=2, source=self
            )
            core.close()
        core.abandon()

    def get_pid(self) -> int:
        """The child's process id."""
        pid = self._core.pid
        assert pid is not None  # the transport is made once the child started
        return pid

    def get_returncode(self) -> int | None:
        """The exit code (negative: killed by that signal), or None while it runs."""
        return self._core.returncode

    def get_pipe_transport(self, fd: int) -> asyncio.BaseTransport | None:
        """The transport of pipe ``fd`` (0 stdin, 1 stdout, 2 stderr), or None if not a PIPE."""
        return self._core.get_pipe_transport(fd)

    def send_signal(self, signal: int) -> None:
        """Send ``signal`` to the child; ProcessLookupError once it has exited."""
        self._core.send_signal(signal)

    def terminate(self) -> None:
        """Send SIGTERM; ProcessLookupError once the child has exited."""
        self._core.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL; ProcessLookupError once the child has exited."""
        self._core.send_signal(signal.SIGKILL)

    def close(self) -> None:
        """Close the pipes and kill the child if it is still running."""
        self._core.close()

    def is_closing(self) -> bool:
        """True once close() was called."""
        return self._core.closed

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Switch the protocol."""
        self._core.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        """The protocol."""
        return self._core.protocol  # type: ignore[return-value]

    async def _wait(self) -> int:
        # The name the stdlib's transports use; kept for code that awaits it.
        result: int = await Await(self._core.wait())
        return result


async def _start(
    loop: asyncio.AbstractEventLoop,
    protocol: asyncio.BaseProtocol,
    args: Any,
    shell: bool,
    *,
    stdin: Any,
    stdout: Any,
    stderr: Any,
    bufsize: int,
    kwargs: dict[str, Any],
) -> SubprocessTransport:
    core = SubprocessCore(loop, protocol)
    core.spawn(
        args, shell, stdin=stdin, stdout=stdout, stderr=stderr, bufsize=bufsize, kwargs=kwargs
    )
    transport = SubprocessTransport(core, {"subprocess": core.proc})
    # The pipes are connected in a task of their own that a cancellation of
    # this call does not reach: a loop's connect_*_pipe is never interrupted
    # half-way; a cancelled start waits for it, then undoes it.
    connecting = loop.create_task(core.connect_pipes())
    settled: asyncio.Future[None] = loop.create_future()
    connecting.add_done_callback(_Settle(settled))
    failure: BaseException | None = None
    try:
        await Await(settled)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        failure = exc
    if failure is None:
        failure = asyncio.CancelledError() if connecting.cancelled() else connecting.exception()
    if failure is None:
        try:
            core.connected()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            failure = exc
        if failure is None:
            return transport
    elif not connecting.done():
        settled = loop.create_future()
        connecting.add_done_callback(_Settle(settled))
        await Await(settled)
        if not connecting.cancelled():
            connecting.exception()  # retrieved: the start failed anyway
    # Kill the child and collect it before giving up (no await inside an
    # except clause: a compiled coroutine must not re-raise after one).
    core.start_failed()
    transport.close()
    await Await(core.wait())
    raise failure


class _Settle:
    """Done callback: resolves ``future`` (once)."""

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future

    def __call__(self, task: asyncio.Future[Any]) -> None:
        if not self.future.done():
            self.future.set_result(None)


def _check_popen_options(
    *,
    universal_newlines: object,
    shell: object,
    shell_wanted: bool,
    bufsize: int,
    text: object,
    encoding: str | None,
    errors: str | None,
) -> None:
    """Refuse text-mode pipes and a ``shell`` other than the method's (asyncio's order)."""
    if universal_newlines:
        raise ValueError("universal_newlines must be False")
    if bool(shell) != shell_wanted:
        raise ValueError(f"shell must be {shell_wanted}")
    if bufsize != 0:
        raise ValueError("bufsize must be 0")
    if text:
        raise ValueError("text must be False")
    if encoding is not None:
        raise ValueError("encoding must be None")
    if errors is not None:
        raise ValueError("errors must be None")


async def subprocess_exec(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    program: Any,
    *args: Any,
    stdin: Any = PIPE,
    stdout: Any = PIPE,
    stderr: Any = PIPE,
    universal_newlines: object = False,
    shell: object = False,
    bufsize: int = 0,
    encoding: str | None = None,
    errors: str | None = None,
    text: object = None,
    **popen_kwargs: Any,
) -> tuple[asyncio.SubprocessTransport, asyncio.BaseProtocol]:
    """Run ``program`` with ``args`` in a child process; ``(transport, protocol)``.

    Works on any asyncio event loop. ``stdin``, ``stdout`` and ``stderr`` take
    PIPE (a pipe transport feeds the protocol), DEVNULL, STDOUT (stderr only),
    a file object or a file descriptor, or None (inherit). The child runs in
    binary mode: ``universal_newlines``, ``text``, ``encoding`` and ``errors``
    must be left unset, ``bufsize`` must be 0 and ``shell`` False. Other keyword
    arguments (``cwd``, ``env``, ``pass_fds``, ``start_new_session`` ...) go to
    :class:`subprocess.Popen`.
    """
    _check_popen_options(
        universal_newlines=universal_newlines,
        shell=shell,
        shell_wanted=False,
        bufsize=bufsize,
        text=text,
        encoding=encoding,
        errors=errors,
    )
    protocol = protocol_factory()
    transport = await _start(
        loop,
        protocol,
        (program, *args),
        False,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        bufsize=bufsize,
        kwargs=popen_kwargs,
    )
    return transport, protocol


async def subprocess_shell(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    cmd: Any,
    *,
    stdin: Any = PIPE,
    stdout: Any = PIPE,
    stderr: Any = PIPE,
    universal_newlines: object = False,
    shell: object = True,
    bufsize: int = 0,
    encoding: str | None = None,
    errors: str | None = None,
    text: object = None,
    **popen_kwargs: Any,
) -> tuple[asyncio.SubprocessTransport, asyncio.BaseProtocol]:
    """Run the shell command line ``cmd`` (str or bytes); ``(transport, protocol)``.

    Same rules as :func:`subprocess_exec`, except that ``shell`` must be True.
    A ``cmd`` that is not str or bytes raises ValueError, as asyncio's does.
    """
    if not isinstance(cmd, (bytes, str)):
        raise ValueError("cmd must be a string")
    _check_popen_options(
        universal_newlines=universal_newlines,
        shell=shell,
        shell_wanted=True,
        bufsize=bufsize,
        text=text,
        encoding=encoding,
        errors=errors,
    )
    protocol = protocol_factory()
    transport = await _start(
        loop,
        protocol,
        cmd,
        True,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        bufsize=bufsize,
        kwargs=popen_kwargs,
    )
    return transport, protocol
