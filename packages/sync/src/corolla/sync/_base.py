"""Pieces shared by every primitive: the waiter type and loop binding."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Generator
from typing import Any, Protocol, cast

from mypy_extensions import mypyc_attr


class Waiter(Protocol):
    """What the primitives need from ``loop.create_future()``.

    Typed structurally so that futures from any loop (the stdlib's, uvloop's,
    corolla's) are accepted without a runtime class check.
    """

    def done(self) -> bool: ...

    def cancelled(self) -> bool: ...

    def cancel(self, msg: Any | None = None) -> bool: ...

    def set_result(self, result: Any, /) -> None: ...

    def result(self) -> Any: ...

    _asyncio_future_blocking: bool

    def __await__(self) -> Generator[Any, None, Any]: ...


_NOTHING: tuple[()] = ()


class Ready:
    """An awaitable that is already complete: ``await READY`` returns None at once.

    ``__aenter__``/``__aexit__`` return it when they finish without waiting,
    which saves creating and driving a coroutine on every uncontended
    ``async with``.
    """

    def __await__(self) -> Generator[Any, None, None]:
        return cast("Generator[Any, None, None]", iter(_NOTHING))


READY = Ready()


class Await:
    """``await Await(x)`` is ``await x``, minus a warning on Python 3.12+.

    A mypyc-compiled coroutine that is cancelled while awaiting forwards the
    exception to what it awaits with the old ``throw(type, value, tb)`` form,
    which Python 3.12+ futures and coroutines answer with a
    DeprecationWarning (an error under ``-W error``, replacing the
    CancelledError). This iterator sits in between and forwards
    ``throw(value)`` in the one-argument form. It is for awaitables we know
    nothing about (another library's lock); our own waiters use
    :class:`WaitFuture`, which is cheaper.
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
    """``await WaitFuture(fut)`` is ``await fut`` for a future of any loop.

    It drives the future protocol itself (yield the future to the task, then
    return its result) in a compiled generator, so a compiled coroutine that
    is cancelled while waiting throws into our generator instead of into the
    future's own iterator, which on Python 3.12+ warns about the
    three-argument ``throw()`` that mypyc uses. Measured with callgrind on
    3.13 (one wait through a stdlib future): +1.4k instructions over a bare
    ``await fut``, against +8.3k for the delegating :class:`Await`.
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


@mypyc_attr(allow_interpreted_subclasses=True)
class LoopBound:
    """Binds an object to the first event loop that needs to park a waiter on it.

    Nothing is bound at construction, so a primitive can be created outside a
    running loop (or in one loop and used in another, before its first wait).
    """

    _loop: asyncio.AbstractEventLoop | None

    def __init__(self) -> None:
        self._loop = None

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        bound = self._loop
        if bound is None:
            self._loop = loop
        elif bound is not loop:
            raise RuntimeError(
                f"{self!r} is bound to a different event loop: it was first used from "
                f"{bound!r} and now from {loop!r}"
            )
        return loop


def discard(waiters: deque[Waiter], waiter: Waiter) -> None:
    """Remove ``waiter``; waiters mostly leave in FIFO order, so try the front first."""
    if waiters and waiters[0] is waiter:
        waiters.popleft()
    else:
        waiters.remove(waiter)


def reject_keywords(obj: object, keywords: dict[str, object]) -> None:
    """TypeError naming the first unexpected keyword (``loop=`` is gone since 3.10)."""
    if keywords:
        name = next(iter(keywords))
        raise TypeError(
            f"{type(obj).__name__}.__init__() got an unexpected keyword argument {name!r}"
        )


def object_repr(obj: object, extra: str) -> str:
    """``<module.Class object at 0x... [extra]>``, the shape asyncio uses."""
    cls = type(obj)
    return f"<{cls.__module__}.{cls.__qualname__} object at {id(obj):#x} [{extra}]>"
