"""Handle and TimerHandle: the callbacks the loop schedules."""

from __future__ import annotations

import functools
import os
import reprlib
import sys
import traceback
from collections.abc import Callable
from contextvars import Context, copy_context
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from corolla.loop._core import LoopCore

_OWN_DIR: Final = os.path.dirname(__file__)

# Context.run as an unbound method, called directly: compiled, ``ctx.run(f)``
# looks the method up on the type on every call; this does it once.
_context_run: Final = Context.run
# Bound once as a C static: a from-imported name is a dict lookup in the
# module's globals on every call.
_copy_context: Final = copy_context


def _noop(*args: object) -> None:
    return None


def scheduling_stack() -> traceback.StackSummary:
    """The stack of the code that scheduled a callback, outermost first.

    It ends at the frame that called ``call_soon()`` (or ``call_later()``...):
    corolla.loop's own frames, which exist when it runs uncompiled, are left
    out. Compiled functions have no frames, so no fixed depth would do.
    """
    frame: FrameType | None = sys._getframe(0)
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == _OWN_DIR:
        frame = frame.f_back
    if frame is None:
        return traceback.StackSummary()
    return traceback.extract_stack(frame)


def _describe_args(args: tuple[object, ...]) -> str:
    short = reprlib.Repr()
    short.maxstring = 40
    short.maxother = 40
    return "(" + ", ".join(short.repr(a) for a in args) + ")"


def describe_callback(callback: object, args: tuple[object, ...] | None) -> str:
    """A short human description of ``callback(*args)`` with its source location."""
    target = callback
    if isinstance(target, functools.partial):
        inner = describe_callback(target.func, tuple(target.args))
        return f"functools.partial({inner})" + ("" if args is None else _describe_args(args))
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
    text = str(name) if name is not None else repr(target)
    if args is not None:
        text += _describe_args(args)
    func = getattr(target, "__func__", target)
    code = getattr(func, "__code__", None)
    if code is not None:
        text += f" at {code.co_filename}:{code.co_firstlineno}"
    return text


class Handle:
    """A callback scheduled on the loop by ``call_soon`` and friends.

    ``cancel()`` stops it from running if it has not run yet.
    """

    def __init__(
        self,
        callback: Callable[..., object],
        args: tuple[object, ...],
        loop: LoopCore,
        context: Context | None = None,
    ) -> None:
        self._callback: Callable[..., object] = callback
        self._args: tuple[object, ...] = args
        self._loop = loop
        self._context: Context = _copy_context() if context is None else context
        self._cancelled = False
        self._repr: str = ""
        self._source_traceback: traceback.StackSummary | None = None
        if loop._debug:
            self._source_traceback = scheduling_stack()

    def get_context(self) -> Context:
        """The :class:`contextvars.Context` the callback runs in."""
        return self._context

    def cancel(self) -> None:
        """Stop the callback from running; it is released at once."""
        if not self._cancelled:
            self._cancelled = True
            if self._loop._debug:
                self._repr = self._describe()
            self._callback = _noop
            self._args = ()

    def cancelled(self) -> bool:
        """True once ``cancel()`` has been called."""
        return self._cancelled

    def _describe(self) -> str:
        parts = [type(self).__name__]
        if self._cancelled:
            parts.append("cancelled")
        if self._callback is not _noop:
            parts.append(describe_callback(self._callback, self._args))
        elif self._repr:
            return self._repr
        if self._source_traceback:
            frame = self._source_traceback[-1]
            parts.append(f"created at {frame.filename}:{frame.lineno}")
        return "<" + " ".join(parts) + ">"

    def __repr__(self) -> str:
        return self._describe()

    def _run(self) -> None:
        args = self._args
        try:
            nargs = len(args)
            # Fixed arities spelled out: compiled, ``f(*args)`` builds a list
            # and then a tuple and calls through the slow tuple protocol;
            # these are plain vectorcalls.
            if nargs == 0:
                _context_run(self._context, self._callback)
            elif nargs == 1:
                _context_run(self._context, self._callback, args[0])
            elif nargs == 2:
                _context_run(self._context, self._callback, args[0], args[1])
            else:
                _context_run(self._context, self._callback, *args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            context: dict[str, Any] = {
                "message": f"Exception in callback {describe_callback(self._callback, self._args)}",
                "exception": exc,
                "handle": self,
            }
            if self._source_traceback:
                context["source_traceback"] = self._source_traceback
            # Through Any: compiled, a call typed -> None checks for None, and a
            # replaced handler (a Mock) may return anything.
            loop_any: Any = self._loop
            loop_any.call_exception_handler(context)
        # Interpreted, a coroutine that raised in this callback keeps this frame
        # alive from its traceback (as its f_back), and with it this frame's
        # locals: drop them, or a task that failed and that nobody holds (the
        # callback is its step) would live on in that cycle until the next
        # garbage collection instead of being reported at once. (Compiled, there
        # is no frame.)
        del self, args


class TimerHandle(Handle):
    """A callback scheduled for a point in loop time by ``call_at``/``call_later``."""

    def __init__(
        self,
        when: float,
        callback: Callable[..., object],
        args: tuple[object, ...],
        loop: LoopCore,
        context: Context | None = None,
    ) -> None:
        super().__init__(callback, args, loop, context)
        self._when = when
        self._scheduled = False

    def when(self) -> float:
        """The loop time (``loop.time()`` clock) the callback is scheduled for."""
        return self._when

    def cancel(self) -> None:
        """Stop the callback from running; the loop drops it from its timer heap lazily."""
        if not self._cancelled:
            if self._scheduled:
                self._loop._timer_cancelled_count += 1
            super().cancel()

    def _describe(self) -> str:
        text = super()._describe()
        return text[:-1] + f" when={self._when}>" if text.endswith(">") else text

    def __lt__(self, other: TimerHandle) -> bool:
        return self._when < other._when

    def __le__(self, other: TimerHandle) -> bool:
        return self._when <= other._when

    def __gt__(self, other: TimerHandle) -> bool:
        return self._when > other._when

    def __ge__(self, other: TimerHandle) -> bool:
        return self._when >= other._when
