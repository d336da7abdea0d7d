"""FlowControlProtocol: write flow control that ``StreamWriter.drain()`` waits on."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import deque

from mypy_extensions import mypyc_attr

from corolla.streams._util import Waiter, WaitFuture, event_loop

logger = logging.getLogger("corolla.streams")


@mypyc_attr(allow_interpreted_subclasses=True)
class FlowControlProtocol(asyncio.BaseProtocol):
    """A protocol base that tracks write flow control for :class:`StreamWriter`.

    It implements ``pause_writing()``, ``resume_writing()`` and
    ``connection_lost()``; a subclass that overrides one of them must call the
    base method. On top of that it offers two hooks, named as in asyncio so
    that protocols and writers from either library can be mixed:

    ``await protocol._drain_helper()``
        returns at once while writing is not paused, waits for
        ``resume_writing()`` (or ``connection_lost()``) while it is, and raises
        :class:`ConnectionResetError` once the connection is lost.
        :meth:`StreamWriter.drain` awaits it. Any number of coroutines may wait
        at the same time; all are woken together.

    ``protocol._get_close_waiter(writer)``
        an awaitable that completes when ``connection_lost()`` has been called:
        with None for a clean close, with the connection's exception otherwise.
        :meth:`StreamWriter.wait_closed` awaits it. Subclasses whose close
        condition differs (a process's stdin pipe, say) override it.

    Combine it with another protocol interface as a mixin, e.g.
    ``class MyProtocol(FlowControlProtocol, asyncio.SubprocessProtocol)``.
    The loop is ``loop`` or, when None, the running (else the current) loop.

    This module is never compiled, so classes compiled with mypyc in other
    packages can subclass it (a mypyc-compiled base class from another wheel
    crashes such subclasses); its methods are off the hot path.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = event_loop(loop)
        self._paused = False
        self._drain_waiters: deque[Waiter] = deque()
        self._connection_lost = False
        self._close_exc: BaseException | None = None
        self._close_waiters: list[Waiter] = []

    def pause_writing(self) -> None:
        """The transport's write buffer went over its high-water mark."""
        self._paused = True
        if self._loop.get_debug():
            logger.debug("%r pauses writing", self)

    def resume_writing(self) -> None:
        """The transport's write buffer drained below its low-water mark."""
        self._paused = False
        if self._loop.get_debug():
            logger.debug("%r resumes writing", self)
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)

    def connection_lost(self, exc: BaseException | None) -> None:
        """The connection is closed: wake drain waiters, complete the close waiter."""
        self._connection_lost = True
        self._close_exc = exc
        waiters = self._close_waiters
        self._close_waiters = []
        for closed in waiters:
            if not closed.done():
                if exc is None:
                    closed.set_result(None)
                else:
                    closed.set_exception(exc)
                    closed.exception()  # awaiting still raises; unawaited is not logged
        if not self._paused:
            return
        for waiter in self._drain_waiters:
            if not waiter.done():
                if exc is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(exc)

    async def _drain_helper(self) -> None:
        """Wait while writing is paused; ConnectionResetError once the connection is lost."""
        if self._connection_lost:
            raise ConnectionResetError("Connection lost")
        if not self._paused:
            return
        waiter: Waiter = self._loop.create_future()
        self._drain_waiters.append(waiter)
        try:
            if sys.version_info >= (3, 12):
                await WaitFuture(waiter)
            else:
                await waiter
        finally:
            self._drain_waiters.remove(waiter)

    def _get_close_waiter(self, stream: object) -> Waiter:
        """An awaitable completed by ``connection_lost()`` (see the class docstring).

        Each call gets its own future, so cancelling one ``wait_closed()``
        leaves the others (and later ones) waiting.
        """
        closed: Waiter = self._loop.create_future()
        if self._connection_lost:
            exc = self._close_exc
            if exc is None:
                closed.set_result(None)
            else:
                closed.set_exception(exc)
                closed.exception()
        else:
            self._close_waiters.append(closed)
        return closed
