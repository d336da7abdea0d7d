"""Small pieces the stream classes share: waiting on foreign awaitables, yielding once."""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import Awaitable, Generator
from typing import Any, Final, Protocol, cast

DEFAULT_LIMIT: Final = 2**16


class Waiter(Protocol):
    """What the streams need from ``loop.create_future()``.

    Structural, so futures of any loop (stdlib, uvloop, corolla) are accepted
    without a runtime class check.
    """

    def done(self) -> bool: ...

    def cancelled(self) -> bool: ...

    def set_result(self, result: Any, /) -> None: ...

    def set_exception(self, exception: BaseException, /) -> None: ...

    def exception(self) -> BaseException | None: ...

    def result(self) -> Any: ...

    _asyncio_future_blocking: bool

    def __await__(self) -> Generator[Any, None, Any]: ...


class Await:
    """``await Await(x)`` is ``await x``, minus a DeprecationWarning on Python 3.12+.

    A mypyc-compiled coroutine that is cancelled while it awaits forwards the
    CancelledError with the three-argument ``throw(type, value, tb)``, which
    Python 3.12+ futures and coroutines answer with a DeprecationWarning. This
    iterator sits in between and forwards the one-argument form.
    """

    _it: Generator[Any, Any, Any]

    def __init__(self, awaitable: Awaitable[Any]) -> None:
        self._it = awaitable.__await__()

    def __await__(self) -> Generator[Any, Any, Any]:
        return cast("Generator[Any, Any, Any]", self)

    def __iter__(self) -> Await:
        return self

    def __next__(self) -> Any:
        return next(self._it)

    def send(self, value: Any) -> Any:
        return self._it.send(value)

    def throw(self, typ: Any, value: Any = None, tb: Any = None) -> Any:
        return self._it.throw(typ if value is None else value)

    def close(self) -> None:
        self._it.close()


class WaitFuture:
    """``await WaitFuture(fut)`` is ``await fut`` for a future of any loop (3.12+ use).

    It speaks the future protocol itself (hand the future to the task, then
    return its result) in a compiled generator, so a compiled coroutine that is
    cancelled while waiting throws into this generator, never into the
    future's own iterator, which on Python 3.12+ warns about mypyc's
    three-argument ``throw()``. Cheaper than :class:`Await` for futures.
    """

    _fut: Waiter

    def __init__(self, fut: Waiter) -> None:
        self._fut = fut

    def __await__(self) -> Generator[Any, None, Any]:
        return wait_future(self._fut)


def wait_future(fut: Waiter) -> Generator[Any, None, Any]:
    """The generator behind :class:`WaitFuture`."""
    if not fut.done():
        fut._asyncio_future_blocking = True
        yield fut
        if not fut.done():
            raise RuntimeError("await wasn't used with future")
    return fut.result()


class YieldOnce:
    """Awaiting it gives the event loop one turn (what ``asyncio.sleep(0)`` does)."""

    _done: bool

    def __init__(self) -> None:
        self._done = False

    def __await__(self) -> Generator[Any, Any, Any]:
        return cast("Generator[Any, Any, Any]", self)

    def __iter__(self) -> YieldOnce:
        return self

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        self._done = True
        return None

    def send(self, value: Any) -> Any:
        return self.__next__()

    def throw(self, typ: Any, value: Any = None, tb: Any = None) -> Any:
        self._done = True
        if value is None:
            raise typ
        raise value

    def close(self) -> None:
        self._done = True


def event_loop(loop: asyncio.AbstractEventLoop | None) -> asyncio.AbstractEventLoop:
    """``loop``, else the running loop, else the current loop (``asyncio.get_event_loop``)."""
    if loop is not None:
        return loop
    return asyncio.get_event_loop()


def creation_stack() -> traceback.StackSummary:
    """The caller's stack (outermost first), without this package's own frames."""
    stack = traceback.extract_stack()
    package_dir = os.path.dirname(__file__)
    while stack and os.path.dirname(stack[-1].filename) == package_dir:
        stack.pop()
    return stack
