"""Bridges between asyncio-style futures and concurrent.futures.Future."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

from corolla.futures._future import get_loop_of, isfuture


def convert_concurrent_exception(exc: BaseException) -> BaseException:
    """Map concurrent.futures' exceptions to their asyncio twins."""
    if type(exc) is concurrent.futures.CancelledError:
        return asyncio.CancelledError(*exc.args)
    if type(exc) is concurrent.futures.InvalidStateError:
        return asyncio.InvalidStateError(*exc.args)
    return exc


def _copy_into_concurrent(concurrent: concurrent.futures.Future[Any], source: Any) -> None:
    if source.cancelled():
        concurrent.cancel()
    if not concurrent.set_running_or_notify_cancel():
        return
    exc = source.exception()
    if exc is not None:
        concurrent.set_exception(convert_concurrent_exception(exc))
    else:
        concurrent.set_result(source.result())


def _copy_into_async(dest: Any, source: Any) -> None:
    if dest.cancelled():
        return
    if source.cancelled():
        dest.cancel()
        return
    exc = source.exception()
    if exc is not None:
        dest.set_exception(convert_concurrent_exception(exc))
    else:
        dest.set_result(source.result())


def chain_future(source: Any, dest: Any) -> None:
    """Make ``dest`` follow ``source``; cancelling ``dest`` cancels ``source``.

    Either may be an asyncio-style future or a concurrent.futures.Future;
    work crosses threads through ``call_soon_threadsafe``.
    """
    source_async = isfuture(source)
    dest_async = isfuture(dest)
    if not source_async and not isinstance(source, concurrent.futures.Future):
        raise TypeError("A future is required for source argument")
    if not dest_async and not isinstance(dest, concurrent.futures.Future):
        raise TypeError("A future is required for destination argument")
    source_loop = get_loop_of(source) if source_async else None
    dest_loop = get_loop_of(dest) if dest_async else None

    def copy_state(src: Any) -> None:
        if dest_async:
            _copy_into_async(dest, src)
        else:
            _copy_into_concurrent(dest, src)

    def on_dest_done(d: Any) -> None:
        if not d.cancelled():
            return
        if source_loop is None or source_loop is dest_loop:
            source.cancel()
        elif not source_loop.is_closed():
            source_loop.call_soon_threadsafe(source.cancel)

    def on_source_done(src: Any) -> None:
        if dest.cancelled() and dest_loop is not None and dest_loop.is_closed():
            return
        if dest_loop is None or dest_loop is source_loop:
            copy_state(src)
        elif not dest_loop.is_closed():
            dest_loop.call_soon_threadsafe(copy_state, src)

    dest.add_done_callback(on_dest_done)
    source.add_done_callback(on_source_done)


def wrap_future(future: Any, *, loop: asyncio.AbstractEventLoop | None = None) -> Any:
    """Return an awaitable future that follows a concurrent.futures.Future.

    An object that already is an asyncio-style future is returned unchanged.
    The new future comes from ``loop.create_future()`` (default: the current
    event loop); cancelling it cancels the concurrent future.
    """
    if isfuture(future):
        return future
    if not isinstance(future, concurrent.futures.Future):
        raise TypeError(f"concurrent.futures.Future is expected, got {future!r}")
    if loop is None:
        loop = asyncio.get_event_loop()
    new_future = loop.create_future()
    chain_future(future, new_future)
    return new_future
