"""subprocess_exec / subprocess_shell and SubprocessTransport with real children."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import tempfile
import warnings
from typing import Any

import pytest

import corolla.subprocess as csub
from corolla.subprocess import DEVNULL, PIPE, STDOUT, subprocess_exec, subprocess_shell

PY = sys.executable


class Recorder(asyncio.SubprocessProtocol):
    """Records every callback; ``done`` resolves at connection_lost."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.events: list[Any] = []
        self.data: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
        self.done: asyncio.Future[None] = loop.create_future()
        self.exited: asyncio.Future[None] = loop.create_future()
        self.lost: dict[int, asyncio.Future[Exception | None]] = {
            fd: loop.create_future() for fd in (0, 1, 2)
        }
        self.transport: asyncio.SubprocessTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's own transports are not asyncio.SubprocessTransport instances)
        self.transport = transport  # type: ignore[assignment]
        self.events.append("connection_made")

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        assert self.events[0] == "connection_made"
        if not self.events or self.events[-1] != ("data", fd):
            self.events.append(("data", fd))
        self.data[fd] += data

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.events.append(("pipe_lost", fd))
        self.lost[fd].set_result(exc)

    def process_exited(self) -> None:
        self.events.append("process_exited")
        self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        assert exc is None
        self.events.append("connection_lost")
        self.done.set_result(None)


async def start(*args: Any, **kwargs: Any) -> tuple[asyncio.SubprocessTransport, Recorder]:
    loop = asyncio.get_running_loop()
    transport, protocol = await subprocess_exec(loop, Recorder, *args, **kwargs)
    assert isinstance(protocol, Recorder)
    return transport, protocol


def test_echo_events_in_order(run: Any) -> None:
    async def main() -> None:
        code = (
            "import sys; d = sys.stdin.buffer.read(); "
            "sys.stdout.buffer.write(d.upper()); sys.stderr.write('err')"
        )
        transport, proto = await start(PY, "-c", code)
        assert isinstance(transport, csub.SubprocessTransport)
        assert isinstance(transport.get_pid(), int)
        assert transport.get_returncode() is None
        assert transport.get_extra_info("subprocess").pid == transport.get_pid()
        stdin: Any = transport.get_pipe_transport(0)
        assert stdin is not None
        stdin.write(b"hello")
        stdin.close()
        await proto.done
        assert bytes(proto.data[1]) == b"HELLO"
        assert bytes(proto.data[2]) == b"err"
        assert transport.get_returncode() == 0
        assert proto.events[0] == "connection_made"
        assert proto.events[-1] == "connection_lost"
        assert set(proto.events) >= {("pipe_lost", 0), ("pipe_lost", 1), ("pipe_lost", 2)}
        assert proto.events.index("process_exited") < proto.events.index("connection_lost")
        for fd in (1, 2):
            assert proto.events.index(("data", fd)) < proto.events.index(("pipe_lost", fd))
        assert not transport.is_closing()
        transport.close()
        assert transport.is_closing()
        assert "returncode=0" in repr(transport)

    run(main())


def test_large_output_and_input(run: Any) -> None:
    size = 8 * 1024 * 1024

    async def main() -> None:
        code = (
            "import sys\n"
            "while True:\n"
            "    b = sys.stdin.buffer.read1(65536)\n"
            "    if not b: break\n"
            "    sys.stdout.buffer.write(b)\n"
        )
        transport, proto = await start(PY, "-c", code, stderr=DEVNULL)
        payload = bytes(range(256)) * (size // 256)
        stdin: Any = transport.get_pipe_transport(0)
        assert stdin is not None
        stdin.write(payload)
        stdin.close()
        await proto.done
        assert len(proto.data[1]) == size
        assert bytes(proto.data[1]) == payload
        transport.close()

    run(main())


def test_kill_gives_negative_returncode(run: Any) -> None:
    async def main() -> None:
        transport, proto = await start(
            PY, "-c", "import sys; print('up', flush=True); sys.stdin.read()", stderr=DEVNULL
        )
        while b"up" not in proto.data[1]:
            await asyncio.sleep(0)  # let the pipe deliver
            if proto.lost[1].done():
                break
        transport.kill()
        await proto.done
        assert transport.get_returncode() == -signal.SIGKILL
        with pytest.raises(ProcessLookupError):
            transport.kill()
        with pytest.raises(ProcessLookupError):
            transport.terminate()
        with pytest.raises(ProcessLookupError):
            transport.send_signal(signal.SIGTERM)
        transport.close()

    run(main())


def test_terminate_and_send_signal(run: Any) -> None:
    async def main() -> None:
        transport, proto = await start(PY, "-c", "import sys; sys.stdin.read()", stdout=DEVNULL)
        transport.terminate()
        await proto.done
        assert transport.get_returncode() == -signal.SIGTERM
        transport.close()

        code = (
            "import signal, sys\n"
            "signal.signal(signal.SIGUSR1, lambda *a: sys.exit(7))\n"
            "print('ready', flush=True)\n"
            "signal.pause()\n"
        )
        transport, proto = await start(PY, "-c", code, stdin=DEVNULL)
        while b"ready" not in proto.data[1]:
            await asyncio.sleep(0)
        transport.send_signal(signal.SIGUSR1)
        await proto.done
        assert transport.get_returncode() == 7
        transport.close()

    run(main())


def test_close_kills_running_child(run: Any) -> None:
    async def main() -> None:
        transport, proto = await start(PY, "-c", "import time; time.sleep(3600)")
        assert transport.get_returncode() is None
        transport.close()
        await proto.done
        assert transport.get_returncode() == -signal.SIGKILL
        assert transport.is_closing()

    run(main())


def test_process_exits_before_its_pipes_close(run: Any) -> None:
    # The child leaves a grandchild holding stdout open until stdin reaches EOF.
    code = (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import sys; sys.stdin.read(); print(\"gc\")'])\n"
    )

    async def main() -> None:
        transport, proto = await start(PY, "-c", code, stderr=DEVNULL)
        await proto.exited
        assert transport.get_returncode() == 0
        assert not proto.lost[1].done()
        assert "connection_lost" not in proto.events
        stdin = transport.get_pipe_transport(0)
        assert stdin is not None
        stdin.close()
        await proto.done
        assert bytes(proto.data[1]).strip() == b"gc"
        assert proto.events.index("process_exited") < proto.events.index(("pipe_lost", 1))
        transport.close()

    run(main())


def test_pipes_close_before_process_exits(run: Any) -> None:
    code = "import os, sys; os.close(1); os.close(2); sys.stdin.read()"

    async def main() -> None:
        transport, proto = await start(PY, "-c", code)
        assert await proto.lost[1] is None
        assert await proto.lost[2] is None
        assert not proto.exited.done()
        assert transport.get_returncode() is None
        stdin = transport.get_pipe_transport(0)
        assert stdin is not None
        stdin.close()
        await proto.done
        assert proto.events[-2:] == ["process_exited", "connection_lost"]
        assert transport.get_returncode() == 0
        transport.close()

    run(main())


def test_stdin_closed_early_by_child(run: Any) -> None:
    code = "import os, sys; os.close(0); print('closed', flush=True); sys.stdout.close()"

    async def main() -> None:
        transport, proto = await start(PY, "-c", code, stderr=DEVNULL)
        await proto.lost[1]
        stdin: Any = transport.get_pipe_transport(0)
        assert stdin is not None
        if not stdin.is_closing():  # uvloop may have noticed already, and refuses writes then
            stdin.write(b"x" * (1024 * 1024))  # fills the pipe, then EPIPE
        exc = await proto.lost[0]
        assert exc is None or isinstance(exc, (BrokenPipeError, ConnectionResetError))
        await proto.done
        assert transport.get_returncode() == 0
        transport.close()

    run(main())


def test_devnull_stdout_to_stderr_and_files(run: Any) -> None:
    async def main() -> None:
        transport, proto = await start(
            PY,
            "-c",
            "import sys; print('out'); print('err', file=sys.stderr)",
            stdin=DEVNULL,
            stdout=PIPE,
            stderr=STDOUT,
        )
        assert transport.get_pipe_transport(0) is None
        assert transport.get_pipe_transport(2) is None
        assert transport.get_pipe_transport(1) is not None
        await proto.done
        assert sorted(bytes(proto.data[1]).split()) == [b"err", b"out"]
        transport.close()

        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as inp:
            inp.write(b"from a file")
            inp.seek(0)
            transport, proto = await start(
                PY,
                "-c",
                "import sys; sys.stdout.write(sys.stdin.read())",
                stdin=inp,
                stdout=out.fileno(),
                stderr=None,
            )
            await proto.done
            assert transport.get_pipe_transport(1) is None
            transport.close()
            out.seek(0)
            assert out.read() == b"from a file"

    run(main())


def test_popen_keyword_arguments(run: Any) -> None:
    async def main() -> None:
        r, w = os.pipe()
        try:
            with tempfile.TemporaryDirectory() as cwd:
                code = (
                    "import os, sys\n"
                    "os.write(int(sys.argv[1]), b'fd')\n"
                    "print(os.getcwd(), os.environ['COROLLA_X'], os.getsid(0) == os.getpid())\n"
                )
                transport, proto = await start(
                    PY,
                    "-c",
                    code,
                    str(w),
                    pass_fds=(w,),
                    cwd=cwd,
                    env={**os.environ, "COROLLA_X": "42"},
                    start_new_session=True,
                    stdin=DEVNULL,
                )
                await proto.done
                transport.close()
                out = bytes(proto.data[1]).decode().split()
                assert out == [os.path.realpath(cwd), "42", "True"]
                assert os.read(r, 10) == b"fd"
        finally:
            os.close(r)
            os.close(w)

    run(main())


def test_shell(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await subprocess_shell(loop, Recorder, "echo $((6 * 7)); exit 3")
        assert isinstance(proto, Recorder)
        await proto.done
        assert bytes(proto.data[1]) == b"42\n"
        assert transport.get_returncode() == 3
        transport.close()

        transport, proto = await subprocess_shell(loop, Recorder, b"echo bytes")
        assert isinstance(proto, Recorder)
        await proto.done
        assert bytes(proto.data[1]) == b"bytes\n"
        transport.close()

    run(main())


def test_argument_validation(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        p = asyncio.SubprocessProtocol
        bad: list[tuple[dict[str, Any], str]] = [
            ({"universal_newlines": True}, "universal_newlines must be False"),
            ({"bufsize": 1}, "bufsize must be 0"),
            ({"text": True}, "text must be False"),
            ({"encoding": "utf-8"}, "encoding must be None"),
            ({"errors": "strict"}, "errors must be None"),
        ]
        for kwargs, message in bad:
            with pytest.raises(ValueError, match=message):
                await subprocess_exec(loop, p, PY, "-c", "pass", **kwargs)
            with pytest.raises(ValueError, match=message):
                await subprocess_shell(loop, p, "true", **kwargs)
        with pytest.raises(ValueError, match="shell must be False"):
            await subprocess_exec(loop, p, PY, shell=True)
        with pytest.raises(ValueError, match="shell must be True"):
            await subprocess_shell(loop, p, "true", shell=False)
        for cmd in (123, [PY, "-c", "pass"], None):
            with pytest.raises(ValueError, match="cmd must be a string"):
                await subprocess_shell(loop, p, cmd)
        with pytest.raises(TypeError):
            await subprocess_exec(loop, p)  # type: ignore[call-arg]
        # Falsy values are accepted, like the stdlib's.
        transport, _ = await subprocess_exec(
            loop, p, PY, "-c", "pass", text=False, universal_newlines=False, shell=False
        )
        await transport._wait()  # type: ignore[attr-defined]
        transport.close()

    run(main())


def test_flags_take_any_truth_value(run: Any) -> None:
    # asyncio tests universal_newlines, shell and text for their truth; the
    # compiled build once raised TypeError ("bool object expected") for ints.
    async def main() -> None:
        loop = asyncio.get_running_loop()
        p = asyncio.SubprocessProtocol
        transport, _ = await subprocess_exec(
            loop, p, PY, "-c", "pass", universal_newlines=0, shell=0, text=0
        )
        await transport._wait()  # type: ignore[attr-defined]
        transport.close()
        transport, _ = await subprocess_shell(loop, p, "true", universal_newlines=0, shell=2)
        await transport._wait()  # type: ignore[attr-defined]
        transport.close()
        with pytest.raises(ValueError, match="universal_newlines must be False"):
            await subprocess_exec(loop, p, PY, "-c", "pass", universal_newlines=1)
        with pytest.raises(ValueError, match="shell must be False"):
            await subprocess_exec(loop, p, PY, "-c", "pass", shell=1)
        with pytest.raises(ValueError, match="text must be False"):
            await subprocess_shell(loop, p, "true", text=1)

    run(main())


def test_popen_failure_leaks_nothing(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            with pytest.raises(FileNotFoundError):
                await subprocess_exec(loop, asyncio.SubprocessProtocol, "/nonexistent/program")
            gc.collect()

    run(main())


@pytest.mark.parametrize("delay", [0, 1, 2, 3, 4, 6])
def test_cancelled_start_kills_and_collects(run: Any, delay: int) -> None:
    """Cancelled at each step of the start: the child is killed and collected, nothing leaks."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        blocked = [PY, "-c", "import time; time.sleep(3600)"]
        task = asyncio.ensure_future(subprocess_exec(loop, asyncio.SubprocessProtocol, *blocked))
        for _ in range(delay):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait([task])
        if not task.cancelled():
            transport, _ = task.result()  # started before the cancel landed
            transport.close()
            await transport._wait()  # type: ignore[attr-defined]

    run(main())


def test_child_collected_by_popen_is_not_killed(run: Any) -> None:
    async def main() -> None:
        transport, proto = await start(PY, "-c", "import time; time.sleep(3600)")
        proc: subprocess.Popen[bytes] = transport.get_extra_info("subprocess")
        proc.kill()
        proc.wait()
        killed = []
        proc.kill = lambda: killed.append(True)  # type: ignore[method-assign]
        transport.close()
        assert killed == []
        await proto.done
        assert transport.get_returncode() == -signal.SIGKILL

    run(main())


def test_unclosed_transport_warns(run: Any) -> None:
    async def main() -> None:
        transport, proto = await start(PY, "-c", "pass")
        await proto.done
        del transport, proto
        with pytest.warns(ResourceWarning, match="unclosed transport"):
            gc.collect()

    run(main())


def test_exception_in_protocol_reaches_the_handler(run: Any) -> None:

    class Failing(Recorder):
        def process_exited(self) -> None:
            super().process_exited()
            raise RuntimeError("boom")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await subprocess_exec(loop, Failing, PY, "-c", "pass")
        assert isinstance(proto, Failing)
        await proto.exited
        for fd in (1, 2):
            await proto.lost[fd]
        transport.close()
        await transport._wait()  # type: ignore[attr-defined]

    run(main(), allow_errors=True)
    assert any(isinstance(e.get("exception"), RuntimeError) for e in run.errors)


def test_loop_methods(run: Any) -> None:
    """The loop's own subprocess_exec: corolla's delegates here, the stdlib's has its own."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.subprocess_exec(Recorder, PY, "-c", "print('hi')")
        assert isinstance(proto, Recorder)
        await proto.done
        assert bytes(proto.data[1]) == b"hi\n"
        transport.close()
        transport, proto = await loop.subprocess_shell(Recorder, "echo sh")
        assert isinstance(proto, Recorder)
        await proto.done
        assert bytes(proto.data[1]) == b"sh\n"
        transport.close()

    run(main())


def test_many_concurrent_children(run: Any) -> None:
    async def one(i: int) -> bytes:
        transport, proto = await start(PY, "-c", f"print({i})", stdin=DEVNULL)
        await proto.done
        transport.close()
        return bytes(proto.data[1])

    async def main() -> None:
        results = await asyncio.gather(*(one(i) for i in range(20)))
        assert results == [f"{i}\n".encode() for i in range(20)]

    run(main())


def test_loop_closed_before_the_exit_is_noticed(run: Any) -> None:
    """close() and leave at once: the loop closes first, yet the child is collected."""

    async def main() -> None:
        transport, _ = await start(PY, "-c", "import time; time.sleep(3600)")
        transport.close()

    run(main())
    gc.collect()  # the transport goes: its watch hands the child to a reaping thread
