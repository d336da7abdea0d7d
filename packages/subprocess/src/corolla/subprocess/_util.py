"""Awaiting from compiled coroutines."""

from __future__ import annotations

from collections.abc import Awaitable, Generator
from typing import Any, cast


class Await:
    """``await Await(x)`` is ``await x``, minus a DeprecationWarning on Python 3.12+.

    A compiled coroutine cancelled while it awaits forwards CancelledError with
    the three-argument ``throw()``, which 3.12+ futures and coroutines answer
    with a DeprecationWarning; this iterator forwards the one-argument form.
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
        return self._it.send(value)

    def throw(self, exc: Any, value: Any = None, tb: Any = None) -> Any:
        if isinstance(exc, BaseException):
            return self._it.throw(exc)
        if value is None:
            value = exc()
        return self._it.throw(value.with_traceback(tb) if tb is not None else value)

    def close(self) -> None:
        self._it.close()
