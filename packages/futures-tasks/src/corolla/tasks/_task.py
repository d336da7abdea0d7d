"""The Task class: drives a coroutine on an event loop, as a Future of its result."""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import inspect
import itertools
import linecache
import sys
import traceback
import types
import weakref
from collections.abc import Coroutine, Generator
from contextvars import copy_context
from typing import IO, Any, Final, cast, final

from mypy_extensions import mypyc_attr

from corolla.futures._compiled import COMPILED
from corolla.futures._future import (
    FUTURE_CLASS,
    PENDING,
    FutureCore,
    PublicClass,
    add_awaiter,
    add_callback,
    finish_cancel,
    finish_exception,
    finish_result,
    get_loop_of,
    init_future,
)
from corolla.tasks._registry import (
    enter_task,
    leave_task,
    register_eager_task,
    register_task,
    swap_current_task,
    unregister_eager_task,
)

_name_counter = itertools.count(1)

# Compiled, a task resumes its coroutine through drive() (see run_step); the
# interpreter has no way to await a bare coroutine from __await__, so the pure
# build calls send().
_DRIVEN: Final = COMPILED

# 3.11 still accepted generator-based coroutines; 3.12 dropped them.
_COROUTINE_TYPES: Final[tuple[type, ...]] = (
    (types.CoroutineType, collections.abc.Coroutine)
    if sys.version_info >= (3, 12)
    else (types.CoroutineType, types.GeneratorType, collections.abc.Coroutine)
)
_coroutine_type_cache: Final[set[type]] = set()
# What ``async def`` makes (and compiled coroutines are not): one identity test.
_NATIVE_COROUTINE: Final = types.CoroutineType


def is_coroutine(obj: object) -> bool:
    """True for coroutine objects (what Task accepts), like ``asyncio.iscoroutine``."""
    tp = type(obj)
    if tp is _NATIVE_COROUTINE or tp in _coroutine_type_cache:
        return True
    if isinstance(obj, _COROUTINE_TYPES):
        if len(_coroutine_type_cache) < 100:
            _coroutine_type_cache.add(tp)
        return True
    return False


def init_task(
    task: TaskCore,
    coro: Any,
    loop: asyncio.AbstractEventLoop | None,
    *,
    name: object,
    context: contextvars.Context | None,
    eager_start: bool,
    depth: int,
) -> None:
    """What Task's constructor does, for it and for :func:`new_task`.

    ``depth``: interpreted frames between init_future's and the code that
    asked for the task (see init_future).
    """
    init_future(task, loop, depth)
    if not is_coroutine(coro):
        task._log_destroy_pending = False
        raise TypeError(f"a coroutine was expected, got {coro!r}")
    task._name = None if name is None else str(name)
    task._coro = coro
    if context is None:
        context = copy_context()
    task._context = context
    if eager_start and task._loop.is_running():
        task._eager_start()
    else:
        task._loop.call_soon(task._step, context=context)
        register_task(task)


TASK_CLASS: Final = PublicClass()


def new_task(
    loop: asyncio.AbstractEventLoop,
    coro: Any,
    name: object = None,
    context: contextvars.Context | None = None,
    eager_start: bool = False,
) -> Any:
    """A new :class:`Task` running ``coro`` on ``loop``, what ``loop.create_task()`` returns.

    The same as ``Task(coro, loop=loop, name=name, context=context,
    eager_start=eager_start)``, made without going through the class call:
    for event loops (corolla's ``create_task`` uses it) and task factories,
    where it saves the keyword parsing of a constructor call.
    """
    task: TaskCore = TASK_CLASS.allocate()
    # Interpreted, the caller is 3 frames up: init_future's, init_task's and this one's.
    init_task(task, coro, loop, name=name, context=context, eager_start=eager_start, depth=3)
    return task


def _coroutine_repr(coro: Any) -> str:
    name = getattr(coro, "__qualname__", None) or getattr(coro, "__name__", None)
    if not isinstance(name, str):
        name = type(coro).__name__
    name = f"{name}()"
    frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    if frame is not None:
        return f"{name} running at {frame.f_code.co_filename}:{frame.f_lineno}"
    if code is not None:
        return f"{name} done, defined at {code.co_filename}:{code.co_firstlineno}"
    return name


@mypyc_attr(allow_interpreted_subclasses=True)
class TaskCore(FutureCore):
    """The compiled implementation behind :class:`Task`."""

    _log_destroy_pending: bool = True
    _num_cancels_requested: int = 0
    _must_cancel: bool = False
    _fut_waiter: Any = None
    # The awaited future was yielded by corolla's own Future.__await__.
    _waiter_is_own_await: bool = False
    _coro: Any = None
    _name: Any = None
    # What runs the coroutine without StopIteration (see run_step), made at its first step.
    _coro_ref: CoroRef | None = None
    _driver: Any = None
    _context: contextvars.Context

    def __init__(
        self,
        coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        name: object = None,
        context: contextvars.Context | None = None,
        eager_start: bool = False,
    ) -> None:
        # Interpreted, the caller is 3 frames up: init_future's, init_task's and this one's.
        init_task(self, coro, loop, name=name, context=context, eager_start=eager_start, depth=3)

    def __del__(self) -> None:
        if self._st == PENDING and self._log_destroy_pending:
            context: dict[str, Any] = {
                "task": self,
                "message": "Task was destroyed but it is pending!",
            }
            if self._source_traceback:
                context["source_traceback"] = self._source_traceback
            # Through Any: compiled, a call typed -> None checks for None, and a
            # replaced handler (a Mock) may return anything.
            loop_any: Any = self._loop
            loop_any.call_exception_handler(context)
        super().__del__()

    # -- introspection -------------------------------------------------------------

    def _repr_info(self) -> list[str]:
        info = super()._repr_info()
        if self._num_cancels_requested and self._st == PENDING:
            info[0] = "cancelling"
        info.insert(1, f"name={self.get_name()!r}")
        if self._fut_waiter is not None:
            info.insert(2, f"wait_for={self._fut_waiter!r}")
        if self._coro is not None:
            info.insert(2, f"coro=<{_coroutine_repr(self._coro)}>")
        return info

    def get_coro(self) -> Any:
        """The coroutine this task runs (None once an eager task finished)."""
        return self._coro

    def get_context(self) -> contextvars.Context:
        """The contextvars.Context the coroutine runs in."""
        return self._context

    def get_name(self) -> str:
        """The task's name: the one given, or ``Task-<n>``."""
        name = self._name
        if name is None:
            name = self._name = f"Task-{next(_name_counter)}"
        result: str = name
        return result

    def set_name(self, value: object) -> None:
        """Rename the task (``value`` is converted with ``str``)."""
        self._name = str(value)

    def set_result(self, result: Any) -> None:
        """Refused: a task's result is what its coroutine returns."""
        raise RuntimeError("Task does not support set_result operation")

    def set_exception(self, exception: BaseException | type[BaseException]) -> None:
        """Refused: a task's exception is what its coroutine raises."""
        raise RuntimeError("Task does not support set_exception operation")

    def get_stack(self, *, limit: int | None = None) -> list[types.FrameType]:
        """Frames of the coroutine, oldest first.

        Where it is suspended while it runs (one frame per coroutine level
        Python exposes), the traceback's frames if it ended with an
        exception, nothing otherwise. ``limit`` keeps the newest frames of a
        stack or the oldest ones of a traceback.
        """
        frames: list[types.FrameType] = []
        coro = self._coro
        frame: types.FrameType | None = None
        for attr in ("cr_frame", "gi_frame", "ag_frame"):
            if hasattr(coro, attr):
                frame = getattr(coro, attr)
                break
        if frame is not None:
            while frame is not None and (limit is None or len(frames) < limit):
                frames.append(frame)
                frame = frame.f_back
            frames.reverse()
            return frames
        exc = self._exception
        if exc is not None:
            tb = exc.__traceback__
            while tb is not None and (limit is None or len(frames) < limit):
                frames.append(tb.tb_frame)
                tb = tb.tb_next
        return frames

    def print_stack(self, *, limit: int | None = None, file: IO[str] | None = None) -> None:
        """Print :meth:`get_stack` like a traceback (to ``file``, default stderr)."""
        out = sys.stderr if file is None else file
        entries: list[tuple[str, int, str, str]] = []
        for frame in self.get_stack(limit=limit):
            code = frame.f_code
            lineno = frame.f_lineno or 0
            linecache.checkcache(code.co_filename)
            line = linecache.getline(code.co_filename, lineno, frame.f_globals)
            entries.append((code.co_filename, lineno, code.co_name, line))
        exc = self._exception
        if not entries:
            print(f"No stack for {self!r}", file=out)
        elif exc is not None:
            print(f"Traceback for {self!r} (most recent call last):", file=out)
        else:
            print(f"Stack for {self!r} (most recent call last):", file=out)
        traceback.print_list(traceback.StackSummary.from_list(entries), file=out)
        if exc is not None:
            for line in traceback.format_exception_only(type(exc), exc):
                print(line, file=out, end="")

    # -- cancellation --------------------------------------------------------------

    def cancel(self, msg: Any = None) -> bool:
        """Ask the task to cancel itself.

        CancelledError (with ``msg``) is thrown into the coroutine the next
        time it runs; the coroutine may catch it. Returns False if the task
        is already done. Each call increments :meth:`cancelling`.
        """
        self._log_tb = False
        if self._st != PENDING:
            return False
        self._num_cancels_requested += 1
        waiter = self._fut_waiter
        if waiter is not None and waiter.cancel(msg=msg):
            return True
        self._must_cancel = True
        self._cancel_message = msg
        return True

    def cancelling(self) -> int:
        """How many cancellation requests are pending (see :meth:`uncancel`)."""
        return self._num_cancels_requested

    def uncancel(self) -> int:
        """Withdraw one cancellation request; return how many remain.

        When none remain, a cancellation not yet delivered is dropped too.
        """
        count = self._num_cancels_requested
        if count > 0:
            count -= 1
            self._num_cancels_requested = count
            if count == 0:
                self._must_cancel = False
        return count

    # -- running -------------------------------------------------------------------

    def _eager_start(self) -> None:
        loop = self._loop
        previous = swap_current_task(loop, self)
        try:
            register_eager_task(self)
            try:
                self._context.run(run_step, self, None)
            finally:
                unregister_eager_task(self)
        finally:
            swap_current_task(loop, previous)
            if self._st != PENDING:
                self._coro = None
            else:
                register_task(self)

    def _step(self, exc: BaseException | None = None) -> None:
        task_step(self, exc)
        del self, exc  # see _FRAMES_HOLD_THE_TASK

    def _run_step(self, exc: BaseException | None) -> None:
        run_step(self, exc)

    def _wakeup(self, future: Any) -> None:
        if isinstance(future, FutureCore):
            # No longer awaited by this task (see wait_on_own).
            if future._awaiter is self:
                future._awaiter = None
            else:
                awaiters = future._awaiters
                if awaiters is not None:
                    awaiters.discard(self)
        if self._waiter_is_own_await and not self._must_cancel:
            # The coroutine is suspended in corolla's Future.__await__ on this
            # very future: resumed, it returns the result or raises the
            # exception there. No throw(): the traceback is kept whole and
            # no 3-argument throw() is forwarded through compiled coroutines.
            # (A cancellation requested meanwhile needs the future's outcome
            # here: its CancelledError, message included, is the one thrown.)
            task_step(self, None)
        else:
            try:
                future.result()
            except BaseException as exc:
                task_step(self, exc)
            else:
                task_step(self, None)
        del self, future  # see _FRAMES_HOLD_THE_TASK


# _FRAMES_HOLD_THE_TASK: interpreted (the pure build), the frames of a step
# (_step or _wakeup, task_step, run_step) outlive it when the coroutine fails:
# the error's traceback holds the coroutine's frame, whose f_back is
# run_step's, whose f_back is task_step's, and so on. Their locals are then
# kept as they were when each returned, so each drops its reference to the
# task first; otherwise the task would hold its error, the error these
# frames, and these frames the task: a cycle that delays "exception was never
# retrieved" and the freeing of what the coroutine held until a garbage
# collection. (Compiled functions have no frames; the dels cost nothing.)

# The steps are module-level functions: a compiled ``self.method()`` on an
# instance of the interpreted Task class is a Python-level lookup, a function
# call is a C call.


def task_step(task: TaskCore, exc: BaseException | None) -> None:
    """Run the task's coroutine up to its next suspension point."""
    if task._st != PENDING:
        raise asyncio.InvalidStateError(f"_step(): already done: {task!r}, {exc!r}")
    if task._must_cancel:
        if not isinstance(exc, asyncio.CancelledError):
            exc = task._make_cancelled_error()
        task._must_cancel = False
    task._fut_waiter = None
    loop = task._loop
    enter_task(loop, task)
    try:
        run_step(task, exc)
    finally:
        leave_task(loop, task)
    del task, exc, loop  # see _FRAMES_HOLD_THE_TASK


def run_step(task: TaskCore, exc: BaseException | None) -> None:
    coro = task._coro
    if exc is None and _DRIVEN:
        ref = task._coro_ref
        if ref is None or ref.coro is not coro:
            ref = CoroRef(coro)
            task._coro_ref = ref
            task._driver = drive(ref)
        result: Any = DONE
        try:
            # A for loop resumes it through the tp_iternext slot (mypyc calls
            # next() as a Python function).
            for result in task._driver:  # noqa: B007
                break
        except BaseException as error:
            # Not from the coroutine (drive() catches those): the driver could
            # not resume it (say, a step run from inside the coroutine itself).
            finish_raised(task, error)
            return
        if result is DONE:
            outcome = ref.error
            if outcome is None:
                finish_returned(task, ref.value)
            else:
                finish_raised(task, outcome)
            return
    else:
        try:
            result = coro.send(None) if exc is None else coro.throw(exc)
        except StopIteration as stop:
            # The coroutine may have caught ``exc``: whoever keeps it keeps
            # this frame (see _FRAMES_HOLD_THE_TASK), so it must not keep ``exc``.
            del exc
            finish_returned(task, stop.value)
            return
        except BaseException as error:
            finish_raised(task, error)
            del task, coro, exc  # see _FRAMES_HOLD_THE_TASK
            return
        del exc  # as above
    handle_yield(task, result)


def finish_returned(task: TaskCore, value: Any) -> None:
    """The coroutine returned ``value``: the task's result, unless it must cancel."""
    task._coro_ref = None
    task._driver = None
    if task._must_cancel:
        task._must_cancel = False
        finish_cancel(task, task._cancel_message)
    else:
        finish_result(task, value)


def finish_raised(task: TaskCore, error: BaseException) -> None:
    """The coroutine raised ``error``: the task is cancelled or fails with it."""
    task._coro_ref = None
    task._driver = None
    if isinstance(error, asyncio.CancelledError):
        task._cancelled_exc = error
        try:
            task._cancelled_orig = weakref.ref(error)
        except TypeError:  # a subclass with __slots__ and no __weakref__
            task._cancelled_orig = None
        task._cancelled_tb = error.__traceback__
        finish_cancel(task, None)
        return
    finish_exception(task, error)
    if isinstance(error, (KeyboardInterrupt, SystemExit)):
        raise error


@final
class CoroRef:
    """What :func:`drive` awaits: ``__await__`` hands back the task's coroutine itself.

    Compiled code resumes what it awaits through ``PyIter_Send``, which gets a
    coroutine's return value without raising StopIteration (the ``send()``
    method raises it, and catching it from compiled code costs a traceback
    entry and more: ~3,700 instructions per task on 3.11).
    """

    def __init__(self, coro: Any) -> None:
        self.coro: Any = coro
        self.value: Any = None
        self.error: BaseException | None = None

    def __await__(self) -> Generator[Any, None, Any]:
        return cast("Generator[Any, None, Any]", self.coro)


@final
class _Done:
    """Awaited by :func:`drive` once the coroutine is over: yields DONE forever."""

    def __iter__(self) -> _Done:
        return self

    def __next__(self) -> object:
        return DONE

    def __await__(self) -> Generator[Any, None, Any]:
        return cast("Generator[Any, None, Any]", self)


DONE: Final = object()
_DONE_AWAITABLE: Final = _Done()


async def drive(ref: CoroRef) -> None:
    """Run the task's coroutine: ``next()`` on this resumes it with None.

    It yields what the coroutine yields; once the coroutine has returned or
    raised, the outcome is in ``ref`` and it yields DONE. Never finishes (a
    finishing generator would raise StopIteration). Exceptions for the
    coroutine are thrown into it directly (``coro.throw``), not through this.
    """
    try:
        ref.value = await ref
    except BaseException as error:  # handed to the task
        ref.error = error
    await _DONE_AWAITABLE


def handle_yield(task: TaskCore, result: Any) -> None:
    if result is None:
        # A bare yield (sleep(0)): checked first, as getattr() on None for a
        # missing attribute raises and catches an AttributeError inside.
        task._loop.call_soon(task._step, context=task._context)
        return
    if isinstance(result, FutureCore):
        # corolla's own futures and tasks: native field access throughout.
        wait_on_own(task, result)
        return
    blocking = getattr(result, "_asyncio_future_blocking", None)
    if blocking is None:
        _handle_bad_yield(task, result)
        return
    if not _can_wait_on(task, result, get_loop_of(result), blocking):
        return
    result._asyncio_future_blocking = False
    task._waiter_is_own_await = False
    result.add_done_callback(task._wakeup, context=task._context)
    task._fut_waiter = result
    if task._must_cancel and result.cancel(msg=task._cancel_message):
        task._must_cancel = False


def wait_on_own(task: TaskCore, fut: FutureCore) -> None:
    """handle_yield for a future or task of corolla's own classes."""
    if not _can_wait_on(task, fut, fut._loop, fut._asyncio_future_blocking):
        return
    fut._asyncio_future_blocking = False
    # The call graph: this task awaits fut (undone in _wakeup).
    if fut._awaiter is None and fut._awaiters is None:
        fut._awaiter = task
    else:
        add_awaiter(fut, task)
    task._waiter_is_own_await = fut._own_await
    fut._own_await = False
    tp = type(fut)
    if (tp is TASK_CLASS.cls or tp is FUTURE_CLASS.cls) and fut._st == PENDING:
        # The public classes themselves (no subclass overriding add_done_callback): straight in.
        add_callback(fut, task._wakeup, task._context)
    else:
        fut.add_done_callback(task._wakeup, context=task._context)
    task._fut_waiter = fut
    if task._must_cancel and fut.cancel(msg=task._cancel_message):
        task._must_cancel = False


def _can_wait_on(task: TaskCore, result: Any, result_loop: Any, blocking: Any) -> bool:
    """False (with the error rescheduled into the task) for a yield it cannot wait on."""
    if result_loop is not task._loop:
        _reschedule_with(
            task, RuntimeError(f"Task {task!r} got Future {result!r} attached to a different loop")
        )
        return False
    if not blocking:
        _reschedule_with(
            task,
            RuntimeError(f"yield was used instead of yield from in task {task!r} with {result!r}"),
        )
        return False
    if result is task:
        _reschedule_with(task, RuntimeError(f"Task cannot await on itself: {task!r}"))
        return False
    return True


def _handle_bad_yield(task: TaskCore, result: Any) -> None:
    if result is None:
        # A bare yield: let the loop run other callbacks, then continue.
        task._loop.call_soon(task._step, context=task._context)
    elif inspect.isgenerator(result):
        _reschedule_with(
            task,
            RuntimeError(
                f"yield was used instead of yield from for generator "
                f"in task {task!r} with {result!r}"
            ),
        )
    else:
        _reschedule_with(task, RuntimeError(f"Task got bad yield: {result!r}"))


def _reschedule_with(task: TaskCore, exc: BaseException) -> None:
    task._loop.call_soon(task._step, exc, context=task._context)
