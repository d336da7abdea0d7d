"""The Future class: a result that will be available later, bound to one event loop."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import operator
import reprlib
import sys
import threading
import traceback
import types
import warnings
import weakref
from collections.abc import Callable, Generator
from contextvars import copy_context
from typing import Any, Final, cast, final

from mypy_extensions import mypyc_attr

from corolla.futures._compiled import COMPILED

# Internal states; the public ``_state`` property spells them like asyncio does.
# Final: mypyc inlines them instead of reading module globals on every use.
PENDING: Final = 0
CANCELLED: Final = 1
FINISHED: Final = 2
_STATE_NAMES: Final = ("PENDING", "CANCELLED", "FINISHED")

_STOP_ITERATION_MESSAGE: Final = (
    "StopIteration interacts badly with generators and cannot be raised into a Future"
)
# 3.11 and 3.12 raise TypeError for a StopIteration given to set_exception (the exact
# class only); 3.13 wraps any StopIteration in a RuntimeError.
# 3.12 deprecated throw(type, value, traceback).
_WARN_THROW_SIGNATURE: Final = sys.version_info >= (3, 12)
_NO_ARG: Final = object()

_WRAP_STOP_ITERATION: Final = sys.version_info >= (3, 13)

DoneCallback = Callable[[Any], object]

# (id(future), thread id) of the futures whose repr is being built.
_REPR_RUNNING: set[tuple[int, int]] = set()


def _callback_repr(callback: object) -> str:
    """``name()`` of a callback, plus ``at file:line`` for plain functions (as asyncio)."""
    name = getattr(callback, "__qualname__", None)
    text = f"{name if isinstance(name, str) and name else repr(callback)}()"
    target = callback
    while isinstance(target, functools.partial):
        target = target.func
    code = getattr(target, "__code__", None)
    if isinstance(target, types.FunctionType) and code is not None:
        text += f" at {code.co_filename}:{code.co_firstlineno}"
    return text


def format_callbacks(callbacks: list[object]) -> str:
    """``cb=[...]`` part of a future's repr: the first callback and the last one."""
    count = len(callbacks)
    if count == 0:
        text = ""
    elif count == 1:
        text = _callback_repr(callbacks[0])
    elif count == 2:
        text = f"{_callback_repr(callbacks[0])}, {_callback_repr(callbacks[1])}"
    else:
        text = (
            f"{_callback_repr(callbacks[0])}, <{count - 2} more>, {_callback_repr(callbacks[-1])}"
        )
    return f"cb=[{text}]"


def get_loop_of(fut: object) -> asyncio.AbstractEventLoop:
    """The loop a future-like object belongs to (``get_loop()``, else ``_loop``)."""
    getter = getattr(fut, "get_loop", None)
    if getter is not None:
        loop: asyncio.AbstractEventLoop = getter()
        return loop
    loop_attr: asyncio.AbstractEventLoop = getattr(fut, "_loop")  # noqa: B009
    return loop_attr


def isfuture(obj: object) -> bool:
    """True for any object following the asyncio future protocol.

    That is what ``asyncio.isfuture`` checks too: the class has an
    ``_asyncio_future_blocking`` attribute and the object's value is not None.
    Both corolla's and the stdlib's futures and tasks pass.
    """
    return (
        hasattr(type(obj), "_asyncio_future_blocking")
        and getattr(obj, "_asyncio_future_blocking", None) is not None
    )


@mypyc_attr(allow_interpreted_subclasses=True)
class FutureCore:
    """The compiled implementation behind :class:`Future`."""

    # Part of the asyncio future protocol: True while a task waits on it.
    _asyncio_future_blocking: bool = False
    _st: int = PENDING
    _result: Any = None
    _exception: BaseException | None = None
    _exception_tb: Any = None
    _cancel_message: Any = None
    _cancelled_exc: BaseException | None = None
    _log_tb: bool = False
    _source_traceback: Any = None
    # The first callback lives in two slots; more go to a list.
    _cb0: DoneCallback | None = None
    _ctx0: contextvars.Context | None = None
    _cbs: list[tuple[DoneCallback, contextvars.Context]] | None = None
    # True once __await__ yielded this future (read and cleared by Task).
    _own_await: bool = False
    # A task's CancelledError as it left the coroutine (weakly: whoever gets
    # it from result() extends its traceback with frames that may hold this
    # task, a cycle that would keep the task and those frames' locals, such as
    # sockets or an SSLContext, alive until a garbage collection), and its
    # traceback.
    _cancelled_orig: weakref.ref[BaseException] | None = None
    _cancelled_tb: Any = None
    # Who awaits this future, for the call graph (future_add_to_awaited_by):
    # the first waiter in a field of its own, a set only from the second on.
    _awaiter: FutureCore | None = None
    _awaiters: set[FutureCore] | None = None

    # Set by init_future; unset (AttributeError) in a subclass whose __init__
    # never called ours.
    _loop: asyncio.AbstractEventLoop

    def __init__(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        # Interpreted, the caller is 2 frames up: init_future's and this one's.
        init_future(self, loop, 2)

    # -- introspection -------------------------------------------------------------

    @property
    def _state(self) -> str:
        return _STATE_NAMES[self._st]

    @property
    def _callbacks(self) -> list[tuple[DoneCallback, contextvars.Context]]:
        out: list[tuple[DoneCallback, contextvars.Context]] = []
        cb0 = self._cb0
        ctx0 = self._ctx0
        if cb0 is not None and ctx0 is not None:
            out.append((cb0, ctx0))
        cbs = self._cbs
        if cbs is not None:
            out.extend(cbs)
        return out

    @property
    def _asyncio_awaited_by(self) -> frozenset[Any] | None:
        """The futures and tasks recorded as awaiting this one, or None if there are none."""
        return awaited_by(self)

    def _repr_info(self) -> list[str]:
        info = [self._state.lower()]
        if self._st == FINISHED:
            if self._exception is not None:
                info.append(f"exception={self._exception!r}")
            else:
                info.append(f"result={reprlib.repr(self._result)}")
        callbacks: list[object] = [cb for cb, _ in self._callbacks]
        if callbacks:
            info.append(format_callbacks(callbacks))
        tb = self._source_traceback
        if tb:
            frame = tb[-1]
            info.append(f"created at {frame[0]}:{frame[1]}")
        return info

    def __repr__(self) -> str:
        # A future whose result contains itself (a task returning all_tasks())
        # shows "..." at the inner level instead of recursing.
        key = (id(self), threading.get_ident())
        if key in _REPR_RUNNING:
            return "..."
        _REPR_RUNNING.add(key)
        try:
            return f"<{type(self).__name__} {' '.join(self._repr_info())}>"
        finally:
            _REPR_RUNNING.discard(key)

    def __del__(self) -> None:
        if not self._log_tb:
            return
        exc = self._exception
        context: dict[str, Any] = {
            "message": f"{type(self).__name__} exception was never retrieved",
            "exception": exc,
            "future": self,
        }
        if self._source_traceback:
            context["source_traceback"] = self._source_traceback
        # Through Any: compiled, a call typed -> None checks for None, and a
        # replaced handler (a Mock) may return anything.
        loop_any: Any = self._loop
        loop_any.call_exception_handler(context)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop this future is bound to."""
        try:
            return self._loop
        except AttributeError:
            # A subclass whose __init__ never called ours.
            raise RuntimeError("Future object is not initialized.") from None

    # -- state ---------------------------------------------------------------------

    def done(self) -> bool:
        """True once the future has a result, an exception, or was cancelled."""
        return self._st != PENDING

    def cancelled(self) -> bool:
        """True if the future was cancelled."""
        return self._st == CANCELLED

    def _make_cancelled_error(self) -> BaseException:
        exc = self._cancelled_exc
        if exc is not None:
            self._cancelled_exc = None
            return exc
        msg = self._cancel_message
        if msg is None:
            return asyncio.CancelledError()
        return asyncio.CancelledError(msg)

    def result(self) -> Any:
        """The result; raises the exception that was set, or CancelledError.

        Raises :class:`asyncio.InvalidStateError` while the future is pending.
        """
        st = self._st
        if st == FINISHED:
            self._log_tb = False
            exc = self._exception
            if exc is not None:
                raise exc.with_traceback(self._exception_tb)
            return self._result
        if st == CANCELLED:
            raise self._make_cancelled_error()
        raise asyncio.InvalidStateError("Result is not ready.")

    def exception(self) -> BaseException | None:
        """The exception that was set, or None if a result was set.

        Raises CancelledError if the future was cancelled and
        :class:`asyncio.InvalidStateError` while it is pending.
        """
        st = self._st
        if st == FINISHED:
            self._log_tb = False
            return self._exception
        if st == CANCELLED:
            raise self._make_cancelled_error()
        raise asyncio.InvalidStateError("Exception is not set.")

    # -- callbacks -----------------------------------------------------------------

    def add_done_callback(
        self, fn: Callable[[Any], object], *, context: contextvars.Context | None = None
    ) -> None:
        """Call ``fn(future)`` through the loop once the future is done.

        It runs in ``context``, by default a copy of the current context.
        If the future is already done, it is scheduled right away.
        """
        loop = self._loop  # AttributeError if __init__ never ran, as asyncio's
        if self._st != PENDING:
            loop.call_soon(fn, self, context=context)
            return
        # Whoever got this future yielded (a stdlib task, say) took the
        # yield: the mark for corolla's tasks must not outlive it.
        self._own_await = False
        add_callback(self, fn, copy_context() if context is None else context)

    def remove_done_callback(self, fn: Callable[[Any], object]) -> int:
        """Remove every registration of ``fn``; return how many were removed."""
        self.get_loop()  # RuntimeError if __init__ never ran
        removed = 0
        # operator.eq: a callback's __eq__ may return anything, not just a bool.
        cb0 = self._cb0
        if cb0 is not None and operator.eq(cb0, fn):
            self._cb0 = None
            self._ctx0 = None
            removed += 1
        cbs = self._cbs
        if cbs is not None:
            kept = [item for item in cbs if not operator.eq(item[0], fn)]
            removed += len(cbs) - len(kept)
            self._cbs = kept if kept else None
        return removed

    def _schedule_callbacks(self) -> None:
        schedule_callbacks(self)

    # -- completion ----------------------------------------------------------------

    def cancel(self, msg: Any = None) -> bool:
        """Cancel the future and schedule its callbacks.

        Returns False if it was already done. ``msg`` becomes the argument of
        the CancelledError that awaiting it raises.
        """
        self._log_tb = False
        if self._st != PENDING:
            return False
        self._st = CANCELLED
        self._cancel_message = msg
        schedule_callbacks(self)
        return True

    def set_result(self, result: Any) -> None:
        """Mark the future done with ``result``.

        Raises :class:`asyncio.InvalidStateError` if it is already done.
        """
        if self._st != PENDING:
            raise asyncio.InvalidStateError(f"{self._state}: {self!r}")
        self._result = result
        self._st = FINISHED
        schedule_callbacks(self)

    def set_exception(self, exception: BaseException | type[BaseException]) -> None:
        """Mark the future done with an exception (a class is instantiated).

        Raises :class:`asyncio.InvalidStateError` if it is already done and
        TypeError for something that is not an exception. A StopIteration
        cannot travel through a coroutine, so it is refused (3.11, 3.12) or
        wrapped in a RuntimeError (3.13+), as asyncio does.
        """
        if self._st != PENDING:
            raise asyncio.InvalidStateError(f"{self._state}: {self!r}")
        exc: object = exception
        if isinstance(exc, type):
            exc = exc()
        if not isinstance(exc, BaseException):
            raise TypeError(f"invalid exception object {exc!r}")
        if not _WRAP_STOP_ITERATION:
            if type(exc) is StopIteration:
                raise TypeError(_STOP_ITERATION_MESSAGE)
        elif isinstance(exc, StopIteration):
            wrapped = RuntimeError(_STOP_ITERATION_MESSAGE)
            wrapped.__cause__ = exc
            wrapped.__context__ = exc
            exc = wrapped
        self._exception = exc
        self._exception_tb = exc.__traceback__
        self._st = FINISHED
        schedule_callbacks(self)
        self._log_tb = True

    # -- awaiting ------------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, Any]:
        # A compiled generator: resuming it and getting the result back cost
        # no exception (mypyc gives it the am_send slot), unlike an iterator
        # class whose __next__ raises StopIteration. ``iter(future)`` gets the
        # FutureIter, whose throw() checks its arguments as asyncio's does.
        if self._st == PENDING:
            self._asyncio_future_blocking = True
            # Tells a corolla task that it is this generator that yields: on
            # wake-up, resuming it with send() raises the future's exception
            # right here, with its traceback, without a throw() (see Task).
            self._own_await = True
            try:
                yield self
            except BaseException as thrown:
                # Thrown in (by a stdlib task, say): a compiled generator's
                # throw(exc) drops the traceback exc carried, so give this
                # future's own error its traceback back.
                tb = own_traceback(self, thrown)
                if tb is None:
                    raise
                raise thrown.with_traceback(tb)  # noqa: B904 (the same exception)
            if self._st == PENDING:
                raise RuntimeError("await wasn't used with future")
        if self._st == FINISHED and self._exception is None:
            self._log_tb = False
            return self._result
        return self.result()

    def __iter__(self) -> Generator[Any, None, Any]:
        return cast("Generator[Any, None, Any]", FutureIter(self))


def init_future(fut: FutureCore, loop: asyncio.AbstractEventLoop | None, depth: int) -> None:
    """Bind a new future to ``loop`` (the current loop if None).

    ``depth``: how many interpreted frames (the pure build) lie between this
    function's and the code that asked for the future, whose stack a loop in
    debug mode records. Compiled functions have no frames, so frame 0 is
    then that code's.
    """
    if loop is None:
        loop = asyncio.get_event_loop()
    fut._loop = loop
    if loop.get_debug():
        fut._source_traceback = traceback.extract_stack(sys._getframe(0 if COMPILED else depth))


@final
class PublicClass:
    """A public class made of a compiled core, and how to allocate one.

    ``Class.__new__(Class)`` runs the core's allocator only: no call of
    ``type``, no ``__init__``, no parsing of keyword arguments, all of which
    the factory functions do without. ``corolla.futures._api`` and
    ``corolla.tasks._api`` fill these in once the classes exist.
    """

    def __init__(self) -> None:
        self.cls: Any = None
        self.new: Any = None

    def set(self, cls: type) -> None:
        self.cls = cls
        self.new = cls.__new__

    def allocate(self) -> Any:
        return self.new(self.cls)


FUTURE_CLASS: Final = PublicClass()


def new_future(loop: asyncio.AbstractEventLoop) -> Any:
    """A new :class:`Future` bound to ``loop``, what ``loop.create_future()`` returns.

    The same as ``Future(loop=loop)``, made without going through the class
    call: for event loops (corolla's ``create_future`` uses it), where it
    saves the keyword parsing of a constructor call.
    """
    fut: FutureCore = FUTURE_CLASS.allocate()
    # Interpreted, the caller is 2 frames up: init_future's and this one's.
    init_future(fut, loop, 2)
    return fut


# Module-level functions rather than methods: every instance is of an
# interpreted subclass (Future, Task), so a compiled ``self.method()`` call
# would go through a Python-level lookup; a function call is a C call.


def future_add_to_awaited_by(fut: object, waiter: object, /) -> None:
    """Record that ``waiter`` awaits ``fut``, for the call graph.

    Both must be corolla futures or tasks (or instances of their subclasses);
    for anything else, a stdlib future or task for one, the call does nothing,
    as asyncio's own function ignores what is not its Future. Each call should
    be matched by a later :func:`future_discard_from_awaited_by` with the same
    arguments. Recording the same waiter twice keeps one entry.

    Tasks do it themselves for the future they wait on, and so do ``gather()``,
    ``shield()`` and ``TaskGroup.create_task()``; code that makes a future stand
    for other work with ``add_done_callback()`` can call it so that
    :func:`corolla.tasks.capture_call_graph` sees who waits on what.
    """
    if isinstance(fut, FutureCore) and isinstance(waiter, FutureCore):
        add_awaiter(fut, waiter)


def future_discard_from_awaited_by(fut: object, waiter: object, /) -> None:
    """Forget that ``waiter`` awaits ``fut`` (see :func:`future_add_to_awaited_by`).

    Does nothing if it was not recorded, or if either is not a corolla future
    or task.
    """
    if isinstance(fut, FutureCore) and isinstance(waiter, FutureCore):
        discard_awaiter(fut, waiter)


def add_awaiter(fut: FutureCore, waiter: FutureCore) -> None:
    first = fut._awaiter
    more = fut._awaiters
    if first is None:
        if more is None or waiter not in more:
            fut._awaiter = waiter
    elif first is not waiter:
        if more is None:
            fut._awaiters = {waiter}
        else:
            more.add(waiter)


def discard_awaiter(fut: FutureCore, waiter: FutureCore) -> None:
    if fut._awaiter is waiter:
        fut._awaiter = None
    else:
        more = fut._awaiters
        if more is not None:
            more.discard(waiter)


def awaited_by(fut: FutureCore) -> frozenset[Any] | None:
    """The recorded waiters of ``fut`` (None when there are none)."""
    first = fut._awaiter
    more = fut._awaiters
    if more:
        if first is None:
            return frozenset(more)
        return frozenset([first, *more])
    if first is None:
        return None
    return frozenset((first,))


def schedule_callbacks(fut: FutureCore) -> None:
    """Hand the done callbacks to the loop (each in its own context), once."""
    loop = fut._loop
    cb0 = fut._cb0
    if cb0 is not None:
        ctx0 = fut._ctx0
        fut._cb0 = None
        fut._ctx0 = None
        loop.call_soon(cb0, fut, context=ctx0)
    cbs = fut._cbs
    if cbs is not None:
        fut._cbs = None
        for fn, ctx in cbs:
            loop.call_soon(fn, fut, context=ctx)


def own_traceback(fut: FutureCore, exc: BaseException) -> Any:
    """The traceback ``exc`` had as ``fut``'s own outcome, or None for another error."""
    if exc is fut._exception:
        return fut._exception_tb
    orig = fut._cancelled_orig
    if orig is not None and exc is orig():
        return fut._cancelled_tb
    return None


def add_callback(fut: FutureCore, fn: DoneCallback, context: contextvars.Context) -> None:
    """add_done_callback for a pending future of corolla's own classes, context given."""
    if fut._cb0 is None:
        fut._cb0 = fn
        fut._ctx0 = context
        return
    cbs = fut._cbs
    if cbs is None:
        fut._cbs = [(fn, context)]
    else:
        cbs.append((fn, context))


# The three ways to finish, without the checks and without being overridable
# by Task (whose public setters refuse to work).


def finish_result(fut: FutureCore, result: Any) -> None:
    fut._result = result
    fut._st = FINISHED
    schedule_callbacks(fut)


def finish_exception(fut: FutureCore, exc: BaseException) -> None:
    fut._exception = exc
    fut._exception_tb = exc.__traceback__
    fut._st = FINISHED
    schedule_callbacks(fut)
    fut._log_tb = True


def finish_cancel(fut: FutureCore, msg: Any) -> None:
    fut._log_tb = False
    fut._st = CANCELLED
    fut._cancel_message = msg
    schedule_callbacks(fut)


@final
class FutureIter:
    """What ``await future`` iterates: yields the future once while it is pending.

    A small native iterator rather than a generator: cheaper to make and to
    resume, and its ``throw()`` keeps the traceback of the exception it is
    given (a cancelled task's error still shows where its coroutine was).
    ``throw(type, value, traceback)`` gives the DeprecationWarning of 3.12+,
    as asyncio's iterator does; ``await`` goes through ``__await__``
    instead, which takes the form mypyc-compiled coroutines forward silently.
    """

    def __init__(self, future: FutureCore) -> None:
        self._future: FutureCore | None = future
        self._yielded = False

    def __iter__(self) -> FutureIter:
        return self

    def __next__(self) -> Any:
        fut = self._future
        if fut is None:
            raise StopIteration
        if fut._st == PENDING:
            if not self._yielded:
                self._yielded = True
                fut._asyncio_future_blocking = True
                return fut
            raise RuntimeError("await wasn't used with future")
        self._future = None
        if fut._st == FINISHED and fut._exception is None:
            fut._log_tb = False
            raise StopIteration(fut._result)
        raise StopIteration(fut.result())

    def send(self, value: object) -> Any:
        """Resume; the value sent is ignored (a task sends None)."""
        return self.__next__()

    def throw(self, typ: Any, value: Any = _NO_ARG, tb: Any = _NO_ARG) -> Any:
        """Raise an exception where the await is suspended."""
        if _WARN_THROW_SIGNATURE and (value is not _NO_ARG or tb is not _NO_ARG):
            # As asyncio's iterator (await uses __await__, which never warns).
            warnings.warn(
                "the (type, exc, tb) signature of throw() is deprecated, "
                "use the single-arg signature instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        if value is _NO_ARG:
            value = None
        if tb is _NO_ARG:
            tb = None
        if tb is not None and not isinstance(tb, types.TracebackType):
            raise TypeError("throw() third argument must be a traceback object")
        if isinstance(typ, type) and issubclass(typ, BaseException):
            if isinstance(value, typ):
                exc: BaseException | None = value
            elif value is None:
                exc = typ()
            elif isinstance(value, tuple):
                exc = typ(*value)
            else:
                exc = typ(value)
        elif isinstance(typ, BaseException):
            if value is not None:
                raise TypeError("instance exception may not have a separate value")
            exc = typ
        else:
            raise TypeError(
                "exceptions must be classes or instances deriving from BaseException, "
                f"not {type(typ).__name__}"
            )
        self._future = None
        assert exc is not None
        try:
            raise exc if tb is None else exc.with_traceback(tb)
        finally:
            # The error's traceback holds this frame: interpreted, its locals
            # naming the error would be a cycle keeping the error, and all
            # the frames it went through, until the next garbage collection.
            typ = value = tb = exc = None

    def close(self) -> None:
        """Stop iterating; the future is not touched."""
        self._future = None
