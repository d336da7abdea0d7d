"""Process, create_subprocess_exec/create_subprocess_shell with real children."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

import pytest

from corolla.streams import StreamReader, StreamWriter
from corolla.subprocess import (
    DEVNULL,
    PIPE,
    STDOUT,
    Process,
    create_subprocess_exec,
    create_subprocess_shell,
)

PY = sys.executable
CAT = [
    PY,
    "-c",
    "import sys\n"
    "while True:\n"
    "    b = sys.stdin.buffer.read1(65536)\n"
    "    if not b: break\n"
    "    sys.stdout.buffer.write(b)\n",
]
BLOCKED = [PY, "-c", "import time; time.sleep(3600)"]
BLOCKED_READY = [PY, "-c", "import time; print('ready', flush=True); time.sleep(3600)"]


def test_communicate_with_input(run: Any) -> None:
    async def main() -> None:
        proc = await create_subprocess_exec(*CAT, stdin=PIPE, stdout=PIPE, stderr=PIPE)
        assert isinstance(proc, Process)
        assert isinstance(proc.stdin, StreamWriter)
        assert isinstance(proc.stdout, StreamReader)
        assert isinstance(proc.stderr, StreamReader)
        assert isinstance(proc.pid, int)
        assert repr(proc) == f"<Process {proc.pid}>"
        assert [proc.returncode] == [None]
        out, err = await proc.communicate(b"some data")
        assert out == b"some data"
        assert err == b""
        assert proc.returncode == 0
        assert await proc.wait() == 0

    run(main())


def test_communicate_large_both_ways(run: Any) -> None:
    size = 16 * 1024 * 1024

    async def main() -> None:
        proc = await create_subprocess_exec(*CAT, stdin=PIPE, stdout=PIPE)
        payload = b"0123456789abcdef" * (size // 16)
        out, err = await proc.communicate(payload)
        assert err is None
        assert len(out or b"") == size
        assert out == payload
        assert proc.returncode == 0

    run(main())


def test_streams_by_hand(run: Any) -> None:
    async def main() -> None:
        code = "import sys\nfor line in sys.stdin:\n    print(line.strip().upper(), flush=True)\n"
        proc = await create_subprocess_exec(PY, "-c", code, stdin=PIPE, stdout=PIPE)
        assert proc.stdin is not None
        assert proc.stdout is not None
        for word in (b"alpha", b"beta"):
            proc.stdin.write(word + b"\n")
            await proc.stdin.drain()
            assert await proc.stdout.readline() == word.upper() + b"\n"
        proc.stdin.close()
        await proc.stdin.wait_closed()
        assert await proc.stdout.read() == b""
        assert await proc.wait() == 0

    run(main())


def test_none_and_devnull_and_stdout_into_stdout(run: Any) -> None:
    async def main() -> None:
        proc = await create_subprocess_exec(
            PY,
            "-c",
            "import sys; print('o'); print('e', file=sys.stderr)",
            stdin=DEVNULL,
            stdout=PIPE,
            stderr=STDOUT,
        )
        assert proc.stdin is None
        assert proc.stderr is None
        out, err = await proc.communicate()
        assert sorted((out or b"").split()) == [b"e", b"o"]
        assert err is None

        proc = await create_subprocess_exec(PY, "-c", "pass")
        assert (proc.stdin, proc.stdout, proc.stderr) == (None, None, None)
        assert await proc.communicate() == (None, None)
        assert proc.returncode == 0

    run(main())


def test_killed_by_signal(run: Any) -> None:
    async def main() -> None:
        proc = await create_subprocess_exec(*BLOCKED)
        proc.kill()
        assert await proc.wait() == -signal.SIGKILL
        proc = await create_subprocess_exec(*BLOCKED)
        proc.terminate()
        assert await proc.wait() == -signal.SIGTERM
        # SIGINT only once the child runs its code: during Python's start-up it
        # turns into a KeyboardInterrupt that exits with status 1.
        proc = await create_subprocess_exec(*BLOCKED_READY, stdout=PIPE)
        assert proc.stdout is not None
        assert await proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGINT)
        assert await proc.wait() == -signal.SIGINT

    run(main())


def test_exit_code_and_concurrent_waits(run: Any) -> None:
    async def main() -> None:
        proc = await create_subprocess_exec(PY, "-c", "import sys; sys.exit(5)")
        codes = await asyncio.gather(*(proc.wait() for _ in range(10)))
        assert codes == [5] * 10
        assert proc.returncode == 5

    run(main())


def test_cancelled_wait_leaves_no_leak(run: Any) -> None:
    async def main() -> None:
        proc = await create_subprocess_exec(*BLOCKED)
        task = asyncio.ensure_future(proc.wait())
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait([task])
        assert task.cancelled()
        assert proc.returncode is None
        proc.kill()
        assert await proc.wait() == -signal.SIGKILL

    run(main())


def test_cancelled_communicate_leaves_no_leak(run: Any) -> None:
    async def main() -> None:
        # It never exits by itself (even once its stdin is closed): kill() finds
        # it alive on every loop (uvloop raises ProcessLookupError otherwise).
        code = "import signal, sys; print('x', flush=True); sys.stdin.read(); signal.pause()"
        proc = await create_subprocess_exec(PY, "-c", code, stdin=PIPE, stdout=PIPE, stderr=PIPE)
        assert proc.stdout is not None
        assert await proc.stdout.readline() == b"x\n"
        task = asyncio.ensure_future(proc.communicate(b"more" * 100_000))
        for _ in range(3):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait([task])
        assert task.cancelled()
        proc.kill()
        assert await proc.wait() == -signal.SIGKILL

    run(main())


def test_communicate_ignores_broken_pipe(run: Any) -> None:
    async def main() -> None:
        # The child exits without reading: writing the input fails, quietly.
        proc = await create_subprocess_exec(
            PY, "-c", "import os; os.close(0); print('bye')", stdin=PIPE, stdout=PIPE
        )
        out, _ = await proc.communicate(b"x" * (4 * 1024 * 1024))
        assert out == b"bye\n"
        assert proc.returncode == 0

    run(main())


def test_read_after_exit(run: Any) -> None:
    async def main() -> None:
        code = "import sys; sys.stdout.write('x' * 300000); sys.stdout.flush(); sys.exit(1)"
        proc = await create_subprocess_exec(PY, "-c", code, stdout=PIPE, limit=1024)
        assert proc.stdout is not None
        total = 0
        while True:
            data = await proc.stdout.read(65536)
            if not data:
                break
            total += len(data)
        assert total == 300000
        assert await proc.wait() == 1

    run(main())


def test_shell(run: Any) -> None:
    async def main() -> None:
        proc = await create_subprocess_shell("echo $((1 + 2)) >&2; exit 4", stderr=PIPE)
        _, err = await proc.communicate()
        assert err == b"3\n"
        assert proc.returncode == 4

    run(main())


def test_text_mode_and_bad_cmd_are_refused(run: Any, loop_factory: Any) -> None:
    if "uvloop" in getattr(loop_factory, "__module__", ""):
        pytest.skip("uvloop's own subprocess_exec checks its arguments differently")

    async def main() -> None:
        with pytest.raises(ValueError, match="text must be False"):
            await create_subprocess_exec(PY, "-c", "pass", text=True)
        with pytest.raises(ValueError, match="universal_newlines must be False"):
            await create_subprocess_shell("true", universal_newlines=True)
        with pytest.raises(ValueError, match="encoding must be None"):
            await create_subprocess_exec(PY, "-c", "pass", encoding="utf-8")
        with pytest.raises(ValueError):
            await create_subprocess_shell([PY, "-c", "pass"])

    run(main())


def test_many_processes(run: Any) -> None:
    async def one(i: int) -> bytes:
        proc = await create_subprocess_exec(PY, "-c", f"print({i})", stdout=PIPE)
        out, _ = await proc.communicate()
        return out or b""

    async def main() -> None:
        results = await asyncio.gather(*(one(i) for i in range(16)))
        assert results == [f"{i}\n".encode() for i in range(16)]

    run(main())


def test_process_weakref_attributes_and_subclass(run: Any) -> None:
    # asyncio's Process is a plain class: user code weak-references it, tags
    # it with attributes and subclasses it. So can ours, compiled or not.
    import weakref

    class NamedProcess(Process):
        def __init__(self, *args: Any, name: str) -> None:
            super().__init__(*args)
            self.name = name

    async def main() -> None:
        proc = await create_subprocess_exec(PY, "-c", "pass", stdout=DEVNULL)
        proc.tag = "worker"  # type: ignore[attr-defined]
        assert vars(proc)["tag"] == "worker"
        called: list[object] = []
        ref = weakref.ref(proc, called.append)
        assert ref() is proc
        assert await proc.wait() == 0
        named = NamedProcess(proc._transport, proc._protocol, proc._loop, name="n")
        assert named.name == "n"
        assert await named.wait() == 0
        assert repr(named) == f"<NamedProcess {proc.pid}>"
        del proc, named
        assert ref() is None
        assert called == [ref]

    run(main())
