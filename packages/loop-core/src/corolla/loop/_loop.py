"""The public EventLoop class, the policy and ``new_event_loop``.

This module stays interpreted (the build excludes it): ``EventLoop`` inherits
from the compiled ``LoopCore`` *and* from ``asyncio.AbstractEventLoop``, which
a compiled class cannot do.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import warnings
import weakref
from typing import Any

from corolla.loop._core import LoopCore


def _missing(module: str, name: str, what: str) -> RuntimeError:
    return RuntimeError(
        f"corolla.loop: {name} needs corolla.{module}.{name}, "
        f"which this corolla-{what} version does not provide"
    )


def _transports_function(name: str) -> Any:
    try:
        from corolla import transports
    except ImportError:
        raise _missing("transports", name, "transports") from None
    function = getattr(transports, name, None)
    if function is None:
        raise _missing("transports", name, "transports")
    return function


def _subprocess_function(name: str) -> Any:
    try:
        from corolla import subprocess as corolla_subprocess
    except ImportError:
        raise _missing("subprocess", name, "subprocess") from None
    function = getattr(corolla_subprocess, name, None)
    if function is None:
        raise _missing("subprocess", name, "subprocess")
    return function


_all_loops: weakref.WeakSet[EventLoop] = weakref.WeakSet()


class EventLoop(LoopCore, asyncio.AbstractEventLoop):  # type: ignore[misc]
    """The corolla event loop: a drop-in ``asyncio.AbstractEventLoop``.

    ``selector`` (optional) makes the loop poll through that
    :mod:`selectors` selector instead of epoll.
    """

    def __init__(self, selector: Any = None) -> None:
        LoopCore.__init__(self, selector)
        _all_loops.add(self)

    def __del__(self, _warn: Any = warnings.warn) -> None:
        if not self.is_closed():
            _warn(f"unclosed event loop {self!r}", ResourceWarning, source=self)
            if not self.is_running():
                self.close()

    # ---------------------------------------------- network, over corolla.transports

    async def create_connection(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
        """Open a TCP (or TLS) connection; see :func:`corolla.transports.create_connection`."""
        return await _transports_function("create_connection")(
            self, protocol_factory, *args, **kwargs
        )

    async def create_server(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
        """Start a TCP server; see :func:`corolla.transports.create_server`."""
        return await _transports_function("create_server")(self, protocol_factory, *args, **kwargs)

    async def create_unix_connection(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
        """Open a Unix socket connection; see :func:`corolla.transports.create_unix_connection`."""
        return await _transports_function("create_unix_connection")(
            self, protocol_factory, *args, **kwargs
        )

    async def create_unix_server(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
        """Start a Unix socket server; see :func:`corolla.transports.create_unix_server`."""
        return await _transports_function("create_unix_server")(
            self, protocol_factory, *args, **kwargs
        )

    async def create_datagram_endpoint(
        self, protocol_factory: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """Open a datagram endpoint; see :func:`corolla.transports.create_datagram_endpoint`."""
        return await _transports_function("create_datagram_endpoint")(
            self, protocol_factory, *args, **kwargs
        )

    async def connect_accepted_socket(
        self, protocol_factory: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """Wrap an accepted socket; see :func:`corolla.transports.connect_accepted_socket`."""
        return await _transports_function("connect_accepted_socket")(
            self, protocol_factory, *args, **kwargs
        )

    async def start_tls(self, transport: Any, *args: Any, **kwargs: Any) -> Any:
        """Upgrade a connection to TLS; see :func:`corolla.transports.start_tls`."""
        return await _transports_function("start_tls")(self, transport, *args, **kwargs)

    async def sendfile(self, transport: Any, *args: Any, **kwargs: Any) -> Any:
        """Send a file over a transport; see :func:`corolla.transports.sendfile`."""
        return await _transports_function("sendfile")(self, transport, *args, **kwargs)

    async def connect_read_pipe(self, protocol_factory: Any, pipe: Any) -> Any:
        """Read from a pipe; see :func:`corolla.transports.connect_read_pipe`."""
        return await _transports_function("connect_read_pipe")(self, protocol_factory, pipe)

    async def connect_write_pipe(self, protocol_factory: Any, pipe: Any) -> Any:
        """Write to a pipe; see :func:`corolla.transports.connect_write_pipe`."""
        return await _transports_function("connect_write_pipe")(self, protocol_factory, pipe)

    # ---------------------------------------------- subprocesses, over corolla.subprocess

    async def subprocess_exec(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
        """Start a child process; see :func:`corolla.subprocess.subprocess_exec`."""
        return await _subprocess_function("subprocess_exec")(
            self, protocol_factory, *args, **kwargs
        )

    async def subprocess_shell(self, protocol_factory: Any, cmd: Any, **kwargs: Any) -> Any:
        """Start a shell command; see :func:`corolla.subprocess.subprocess_shell`."""
        return await _subprocess_function("subprocess_shell")(self, protocol_factory, cmd, **kwargs)


def new_event_loop() -> EventLoop:
    """A new corolla :class:`EventLoop`."""
    return EventLoop()


def _caller_stacklevel() -> int:
    """The warnings stacklevel of the first frame outside asyncio and corolla.loop."""
    level = 2
    frame = sys._getframe(2)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not module.startswith(("asyncio.", "corolla.loop.")) and module not in (
            "asyncio",
            "corolla.loop",
        ):
            break
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


class EventLoopPolicy(asyncio.AbstractEventLoopPolicy):
    """An event loop policy whose loops are corolla :class:`EventLoop` instances.

    Each thread has its own current loop. Like the stdlib's default policy of
    the running Python, ``get_event_loop()`` in the main thread makes one when
    none was ever set (with a DeprecationWarning on 3.12 and 3.13; 3.14 raises).
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def get_event_loop(self) -> asyncio.AbstractEventLoop:
        """The current thread's loop (made in the main thread on first use)."""
        loop: asyncio.AbstractEventLoop | None = getattr(self._local, "loop", None)
        if loop is None:
            if getattr(self._local, "set_called", False) or (
                threading.current_thread() is not threading.main_thread()
            ):
                raise RuntimeError(
                    f"There is no current event loop in thread {threading.current_thread().name!r}."
                )
            if sys.version_info >= (3, 14):
                raise RuntimeError(
                    f"There is no current event loop in thread {threading.current_thread().name!r}."
                )
            if sys.version_info >= (3, 12):
                warnings.warn(
                    "There is no current event loop",
                    DeprecationWarning,
                    stacklevel=_caller_stacklevel(),
                )
            loop = self.new_event_loop()
            self.set_event_loop(loop)
        return loop

    def set_event_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Make ``loop`` the current thread's loop."""
        if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
            raise TypeError(f"loop must be an instance of AbstractEventLoop or None, not {loop!r}")
        self._local.set_called = True
        self._local.loop = loop

    def new_event_loop(self) -> EventLoop:
        """A new corolla :class:`EventLoop`."""
        return EventLoop()

    def get_child_watcher(self) -> Any:
        """corolla has no child watchers: corolla.subprocess watches its children itself."""
        raise RuntimeError("corolla.loop.EventLoopPolicy has no child watcher")

    def set_child_watcher(self, watcher: Any) -> None:
        """corolla has no child watchers: corolla.subprocess watches its children itself."""
        raise RuntimeError("corolla.loop.EventLoopPolicy has no child watcher")

    def _reset_after_fork(self) -> None:
        self._local = threading.local()


def install() -> None:
    """Make corolla's loop the default: ``asyncio.new_event_loop()`` etc. return corolla loops."""
    policy = EventLoopPolicy()
    if sys.version_info >= (3, 14):
        from asyncio import events

        setter = getattr(events, "_set_event_loop_policy", None)
        if setter is not None:
            setter(policy)
            return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop_policy(policy)


def _after_fork_in_child() -> None:
    if sys.version_info < (3, 12):
        asyncio._set_running_loop(None)
    for loop in list(_all_loops):
        loop._reinit_after_fork()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            policy = asyncio.get_event_loop_policy()
    except Exception:
        return
    if isinstance(policy, EventLoopPolicy):
        policy._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
