"""Awaiting what the loop hands out, minus mypyc's DeprecationWarning on Python 3.12+.

A mypyc-compiled coroutine cancelled while it awaits passes the
CancelledError on with the three-argument ``throw(type, value, tb)``, and on
3.12+ the stdlib's futures and coroutines answer that with a
DeprecationWarning (an error under ``-W error``; mypyc/mypyc#1214). On
corolla's loop the futures are corolla's own and nothing warns; on the stdlib
loop or uvloop, these two adapters stand between our coroutines and the
loop's objects. (sync, queues, streams and subprocess have their own copies:
the packages may not import one another.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Generator
from typing import Any, cast

from corolla.transports._compiled import COMPILED


class WaitFuture:
    """``await WaitFuture(fut)`` is ``await fut`` for a future of any loop.

    It speaks the future protocol itself in a compiled generator (hand the
    future to the task, then return its result), so what the task throws in
    lands in that generator, never in the future's own iterator.
    """

    def __init__(self, fut: asyncio.Future[Any]) -> None:
        self._fut = fut

    def __await__(self) -> Generator[Any, None, Any]:
        return wait_future(self._fut)


def wait_future(fut: asyncio.Future[Any]) -> Generator[Any, None, Any]:
    """The generator behind :class:`WaitFuture`."""
    if not fut.done():
        fut._asyncio_future_blocking = True
        yield fut
        if not fut.done():
            raise RuntimeError("await wasn't used with future")
    return fut.result()


class Await:
    """``await Await(x)`` is ``await x`` for any awaitable (a loop's coroutine method, say).

    It forwards each step to ``x``'s iterator and passes exceptions on with
    the one-argument ``throw()``. Dearer than :class:`WaitFuture`: for
    coroutines, not futures.
    """

    def __init__(self, awaitable: Awaitable[Any]) -> None:
        self._it: Generator[Any, Any, Any] = awaitable.__await__()

    def __await__(self) -> Generator[Any, Any, Any]:
        return cast("Generator[Any, Any, Any]", self)

    def __iter__(self) -> Await:
        return self

    def __next__(self) -> Any:
        return next(self._it)

    def send(self, value: Any) -> Any:
        """Resume ``x`` with ``value``."""
        return self._it.send(value)

    def throw(self, typ: Any, value: Any = None, tb: Any = None) -> Any:
        """Raise in ``x`` where it waits, through the one-argument ``throw()``."""
        if isinstance(typ, BaseException):
            return self._it.throw(typ)
        exc = typ() if value is None else value
        if tb is not None:
            exc = exc.with_traceback(tb)
        return self._it.throw(exc)

    def close(self) -> None:
        """Close ``x``'s iterator."""
        self._it.close()


def future_wait(fut: asyncio.Future[Any]) -> Awaitable[Any]:
    """What to await for ``fut``: a :class:`WaitFuture` when compiled, else ``fut`` itself."""
    return WaitFuture(fut) if COMPILED else fut


def coroutine_wait(awaitable: Awaitable[Any]) -> Awaitable[Any]:
    """What to await for ``awaitable``: an :class:`Await` when compiled, else itself."""
    return Await(awaitable) if COMPILED else awaitable
