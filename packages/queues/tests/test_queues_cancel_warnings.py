"""Cancelling a blocked put/get/join raises CancelledError and nothing else.

Compiled with mypyc, a coroutine forwards a cancellation to what it awaits
with the old three-argument ``throw()``, which Python 3.12+ answers with a
DeprecationWarning; under ``-W error`` that warning replaced the
CancelledError. These run with every warning turned into an error.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest

from corolla.queues import Queue


@pytest.mark.parametrize("op", ["get", "put", "join"])
def test_cancel_blocked_raises_only_cancelled(run: Any, op: str) -> None:
    async def main() -> None:
        q: Queue[int] = Queue(maxsize=1)
        task: asyncio.Task[Any]
        if op == "get":
            task = asyncio.create_task(q.get())
        elif op == "put":
            q.put_nowait(1)
            task = asyncio.create_task(q.put(2))
        else:
            q.put_nowait(1)
            task = asyncio.create_task(q.join())
        for _ in range(3):
            await asyncio.sleep(0)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(main())
